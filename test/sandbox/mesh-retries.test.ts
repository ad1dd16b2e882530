import { afterEach, describe, expect, it } from 'vitest';
import { staticConfigSource } from '../../sandbox/mesh/config.js';
import { startMesh, type Mesh, type MeshOptions } from '../../sandbox/mesh/mesh.js';
import { DEFAULT_RETRIES } from '../../sandbox/mesh/traffic.js';
import { productServiceMesh, setWeights } from './mesh-fixture.js';

// Istio's client sidecar retries a failed request on another pod, and the two sidecars count differently: the server
// sidecar of each pod tried reports every attempt (reporter="destination"), the client sidecar the request once with
// its final code (reporter="source").

const REQUESTS = 8_000;
const halfFailing = () => ({ errorRate: 0.5, latencyMs: { p50: 50, p99: 200 } });

/** istio_requests_total of the canary workload by reporter: all, and 5xx. */
async function canaryCounts(mesh: Mesh, reporter: 'source' | 'destination') {
  const text = await (await fetch(mesh.metricsUrl)).text();
  let requests = 0;
  let errors = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('istio_requests_total{')) continue;
    if (!line.includes(`reporter="${reporter}"`)) continue;
    if (!line.includes('destination_workload="product-service-canary"')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    requests += value;
    if (/response_code="5\d\d"/.test(line)) errors += value;
  }
  return { requests, errors };
}

describe('the mesh retries failed requests as Istio does', () => {
  let mesh: Mesh | undefined;
  afterEach(async () => {
    await mesh?.close();
    mesh = undefined;
  });

  /** All traffic to a canary of two pods that fail half of their requests. */
  async function halfFailingCanary(options: Partial<MeshOptions>) {
    const config = productServiceMesh({}, { readyReplicas: 2 });
    setWeights(config, 0, 100);
    mesh = await startMesh({
      source: staticConfigSource(config),
      rps: 0,
      seed: 5,
      behaviour: halfFailing,
      ...options,
    });
    await mesh.send(REQUESTS);
    return {
      source: await canaryCounts(mesh, 'source'),
      destination: await canaryCounts(mesh, 'destination'),
    };
  }

  it('reports every attempt at the pods and each request once at the callers, with 2 retries on the codes it retries', async () => {
    const { source, destination } = await halfFailingCanary({ retries: { attempts: 2, retryOn: [500] } });
    expect(source.requests).toBe(REQUESTS);
    // A request fails in the end when all 3 attempts fail: 0.5³ = 12.5% (sd 0.4 points over 8,000 requests).
    expect(Math.abs(source.errors / source.requests - 0.125)).toBeLessThan(0.015);
    // Attempts per request: 1 + 0.5 + 0.25 = 1.75 (sd 0.01); the pods fail half of them.
    expect(Math.abs(destination.requests / source.requests - 1.75)).toBeLessThan(0.04);
    expect(Math.abs(destination.errors / destination.requests - 0.5)).toBeLessThan(0.02);
    // Every failed attempt but the last of a request was retried: 5xx attempts = retries + requests failed in the end.
    expect(destination.errors).toBe(destination.requests - source.requests + source.errors);
  });

  it('by default retries 2 times on 503 only, as Istio up to 1.23 does, so the pods’ 500s reach the callers as they are', async () => {
    expect(DEFAULT_RETRIES).toEqual({ attempts: 2, retryOn: [503] });
    const { source, destination } = await halfFailingCanary({});
    expect(destination).toEqual(source);
  });

  it('refuses a retry count that is not a whole number, naming the field', async () => {
    await expect(
      startMesh({
        source: staticConfigSource(productServiceMesh()),
        rps: 0,
        retries: { attempts: -1, retryOn: [] },
      }),
    ).rejects.toThrow(/retries\.attempts must be a whole number >= 0 \(got -1\)/);
  });
});
