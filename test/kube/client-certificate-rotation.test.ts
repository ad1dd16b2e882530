// A client certificate rotated in the kubeconfig's files is used without a restart: the kept connection pool is
// renewed after POOL_MAX_AGE_MS, and client-node reads the certificate files anew for the new pool.
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { POOL_MAX_AGE_MS } from '../../src/kube/bounded-client.js';
import { Cluster } from '../../src/kube/cluster.js';
import { makeCerts, signClientCertificate, type Certs } from '../support/certs.js';

describe('a rotated client certificate', () => {
  let dir: string;
  let server: Server;
  const callers: string[] = [];
  let kubeConfig: KubeConfig;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stepwise-cert-rotation-'));
    // The CA, a serving certificate for 127.0.0.1, and client certificates CN=admin (first) and CN=second.
    const certs: Certs = makeCerts(dir);
    signClientCertificate(dir, 'second', '/CN=second');
    server = createServer(
      {
        key: readFileSync(certs.servingKey),
        cert: readFileSync(certs.servingCert),
        ca: readFileSync(certs.caCert),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        callers.push(String((req.socket as TLSSocket).getPeerCertificate().subject.CN));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'cart' } }));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    copyFileSync(certs.adminCert, join(dir, 'client.crt'));
    copyFileSync(certs.adminKey, join(dir, 'client.key'));
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'c', server: `https://127.0.0.1:${port}`, caFile: certs.caCert }],
      users: [{ name: 'u', certFile: join(dir, 'client.crt'), keyFile: join(dir, 'client.key') }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
  });
  afterEach(() => vi.useRealTimers());
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('is presented by the calls after the pool was renewed, without a restart', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const cluster = new Cluster(kubeConfig);
    await cluster.getDeployment('shop', 'cart');
    // Rotated on disk (CN=admin → CN=second), as cert-manager or a kubelet-style rotation writes the files.
    copyFileSync(join(dir, 'second.crt'), join(dir, 'client.crt'));
    copyFileSync(join(dir, 'second.key'), join(dir, 'client.key'));
    await cluster.getDeployment('shop', 'cart');
    vi.setSystemTime(Date.now() + POOL_MAX_AGE_MS + 1_000);
    await cluster.getDeployment('shop', 'cart');
    await cluster.getDeployment('shop', 'cart');
    // Within the pool's age the kept connection carries on; once renewed, every call shows the new certificate.
    expect(callers).toEqual(['admin', 'admin', 'second', 'second']);
  });
});
