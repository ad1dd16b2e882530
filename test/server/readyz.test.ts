// /readyz of the real controller against the sandbox API server: ready only once every watched kind was listed.
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createPrometheusAnalyzer } from '../../src/analysis/analyzer.js';
import { Controller } from '../../src/controller/controller.js';
import { type ApiServer, startApiServer } from '../../sandbox/apiserver/index.js';
import { startHttpServer } from '../../src/server/http.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { eventually } from '../sandbox/apiserver-fixture.js';

describe('/readyz', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function controllerServing(api: ApiServer) {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(api.kubeconfig());
    const logger = createLogger({ silent: true });
    const controller = new Controller({ kubeConfig, analyzer: createPrometheusAnalyzer({ logger }), logger });
    const { server, url } = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      registry: new Registry(),
      ready: () => controller.isReady(),
      notReadyReason: () => controller.notReadyReason(),
    });
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    cleanups.push(() => controller.stop());
    const readyz = async () => {
      const response = await fetch(`${url}/readyz`);
      return { code: response.status, body: await response.text() };
    };
    return { controller, readyz };
  }

  it('is not ready while the first list of a watched kind is refused (RBAC), and ready once it succeeds', async () => {
    const api = await startApiServer({ podReadyDelayMs: 50 });
    cleanups.push(() => api.close());
    const undo = api.faults.failNext(1000, 403, { verb: 'list', resource: 'deployments' });
    const { controller, readyz } = await controllerServing(api);
    await controller.start();

    const refused = await readyz();
    expect(refused.code).toBe(503);
    expect(refused.body).toMatch(/^not ready: waiting for the first list of deployments in all namespaces/);
    expect(refused.body).toMatch(/403: .*cannot list resource "deployments"/);

    undo();
    await eventually(async () => expect(await readyz()).toEqual({ code: 200, body: 'ready\n' }), 5_000);
  });

  it('is not ready while a watched custom resource is not served (CRD missing)', async () => {
    const api = await startApiServer({ podReadyDelayMs: 50 });
    cleanups.push(() => api.close());
    // What an API server without the CRD answers: 404 for the collection.
    api.faults.failNext(1000, 404, { verb: 'list', resource: 'rollouts' });
    const { controller, readyz } = await controllerServing(api);
    await controller.start();
    const missing = await readyz();
    expect(missing.code).toBe(503);
    expect(missing.body).toMatch(
      /waiting for the first list of rollouts in all namespaces \(last error: 404: /,
    );
  });
});
