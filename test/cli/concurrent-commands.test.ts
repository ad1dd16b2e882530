// Commands sent at the same moment from several terminals, against the real controller on the sandbox API:
// each one is executed or refused, with its own answer; none is silently replaced by another.
import { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandName } from '../../src/api/status.js';
import { createPrometheusAnalyzer } from '../../src/analysis/analyzer.js';
import { CliError } from '../../src/cli/exit.js';
import { sendCommand } from '../../src/cli/send-command.js';
import { Controller } from '../../src/controller/controller.js';
import { Cluster } from '../../src/kube/cluster.js';
import { COMMAND_ANNOTATION, COMMAND_ID_ANNOTATION } from '../../src/rollout/commands.js';
import { type ApiServer, startApiServer } from '../../sandbox/apiserver/index.js';
import { readManifests } from '../../sandbox/stack.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { eventually } from '../sandbox/apiserver-fixture.js';

const APP = 'product-service';

describe('commands sent at once', () => {
  let api: ApiServer;
  let cluster: Cluster;
  let controller: Controller;

  beforeAll(async () => {
    api = await startApiServer({ podReadyDelayMs: 50 });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(api.kubeconfig());
    const objects = KubernetesObjectApi.makeApiClient(kubeConfig);
    for (const manifest of readManifests(
      new URL('../../rollouts/product-service', import.meta.url).pathname,
    )) {
      await objects.create({ ...manifest, metadata: { namespace: 'default', ...manifest.metadata } });
    }
    const logger = createLogger({ silent: true });
    controller = new Controller({ kubeConfig, analyzer: createPrometheusAnalyzer({ logger }), logger });
    await controller.start();
    cluster = new Cluster(kubeConfig);
    await eventually(
      async () => expect((await cluster.getRollout('default', APP))?.status?.phase).toBe('Healthy'),
      15_000,
    );
  });
  afterAll(async () => {
    await controller?.stop();
    await api?.close();
  });

  it('answers each of several commands sent at the same moment, none lost', async () => {
    const commands: CommandName[] = ['promote', 'abort', 'promote-full', 'retry'];
    const answers = await Promise.all(
      commands.map((command) =>
        sendCommand(cluster, 'default', APP, command, { timeoutMs: 10_000, pollMs: 20 }),
      ),
    );
    // On a Healthy Rollout every one of them is refused, each with its own reason.
    expect(answers.map((a) => [a.command, a.accepted, a.message])).toEqual([
      ['promote', false, 'nothing to promote: the rollout is Healthy'],
      ['abort', false, 'nothing to abort: the rollout is Healthy'],
      ['promote-full', false, 'nothing to promote: the rollout is Healthy'],
      ['retry', false, 'nothing to retry: the rollout is Healthy'],
    ]);
    expect(new Set(answers.map((a) => a.id)).size).toBe(commands.length);
  });

  it('refuses to overwrite a command the controller has not answered, naming it', async () => {
    await controller.stop();
    // A command written by hand (kubectl annotate) that nobody answers.
    await cluster.patchRolloutMetadata('default', APP, {
      annotations: { [COMMAND_ANNOTATION]: 'promote', [COMMAND_ID_ANNOTATION]: 'by-hand-1' },
    });
    const error = await sendCommand(cluster, 'default', APP, 'abort', { timeoutMs: 300, pollMs: 20 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).message).toMatch(
      /^abort was not sent: the promote command sent before it \(id by-hand-1\) is still waiting for the controller after 0\.3 s/,
    );
    const rollout = await cluster.getRollout('default', APP);
    expect(rollout?.metadata.annotations?.[COMMAND_ID_ANNOTATION]).toBe('by-hand-1');
  });
});
