import { describe, expect, it } from 'vitest';
import { workloadRead } from '../../src/analysis/batch/workload-read.js';
import { counterReads } from '../../src/analysis/comparison/step.js';
import { requestsQuery, WHOLE } from '../../src/analysis/promql.js';
import { customProvider } from '../../src/analysis/providers/custom.js';
import { ISTIO_SIDECAR } from '../../src/analysis/providers/istio.js';
import { LINKERD } from '../../src/analysis/providers/linkerd.js';
import { customMetricsSchema } from '../../src/api/schema.js';

// The comparison's counter reads as one query for several workloads: the exact workload matcher becomes a regex of
// the escaped names and the per-pod grouping keeps the workload label, so the answer splits back by it.

describe('counter reads for several workloads in one query', () => {
  it('selects the workloads by an escaped regex and groups by the label the provider names them with', () => {
    const reads = counterReads(ISTIO_SIDECAR, 'shop', 'web.v2-canary', 500);
    const batch = reads.requests!.batch!;
    expect(batch.label).toBe('destination_workload');
    expect(batch.promqlFor(['web.v2-canary', 'web.v2-stable'])).toBe(
      'sum by (pod, instance, destination_workload) (istio_requests_total{reporter="destination", destination_workload_namespace="shop", destination_workload=~"web\\\\.v2-canary|web\\\\.v2-stable"})',
    );
    // Both arms of a check share the shape, so they share the query.
    expect(counterReads(ISTIO_SIDECAR, 'shop', 'web.v2-stable', 500).requests!.batch!.key).toBe(batch.key);
    expect(counterReads(ISTIO_SIDECAR, 'other', 'web.v2-stable', 500).requests!.batch!.key).not.toBe(
      batch.key,
    );
  });

  it("uses the callers' own workload label where the mesh has one (Linkerd's dst_deployment)", () => {
    const reads = counterReads(LINKERD, 'shop', 'cart-canary', 500);
    expect(reads.requests!.batch!.label).toBe('deployment');
    expect(reads.callerRequests!.batch!.label).toBe('dst_deployment');
  });

  it("sends a custom provider's reads alone: its template may use the workload anywhere", () => {
    const provider = customProvider(
      customMetricsSchema.parse({
        requests: 'http_requests_total{app="{{ workload }}", ns="{{ namespace }}"}',
        errors: 'http_requests_total{app="{{ workload }}", ns="{{ namespace }}", code=~"5.."}',
      }),
    );
    const reads = counterReads(provider, 'shop', 'cart-canary', 500);
    expect(reads.requests!.batch).toBeUndefined();
    expect(reads.requests!.promql).toContain('app="cart-canary"');
  });
});

describe('threshold reads for several workloads in one query', () => {
  it('turns `sum by ()` into `sum by (<workload label>)`, so each workload keeps its own sum', () => {
    const window = { namespace: 'shop', provider: ISTIO_SIDECAR, since: new Date(60_000) };
    const read = workloadRead(
      (workload) => requestsQuery({ ...window, workload }),
      'web-canary',
      'destination_workload',
      WHOLE,
    );
    const series = (matcher: string) =>
      `istio_requests_total{reporter="destination", destination_workload_namespace="shop", destination_workload${matcher}}`;
    const growth = (s: string) => `(((${s} - (${s} @ 60.000)) >= 0) or ${s})`;
    expect(read.batch!.promqlFor(['web-canary', 'cart-canary'])).toBe(
      `sum by (destination_workload) (${growth(series('=~"web-canary|cart-canary"'))})`,
    );
    // The window's start is part of the shape: another start is another query.
    const later = workloadRead(
      (workload) => requestsQuery({ ...window, since: new Date(70_000), workload }),
      'web-canary',
      'destination_workload',
      WHOLE,
    );
    expect(later.batch!.key).not.toBe(read.batch!.key);
  });
});
