// The real controller on the sandbox API server, with an analyzer whose check hangs until its signal aborts
// (a Prometheus that does not answer): an abort of the Rollout cancels the check under way, and its own
// pass runs at once instead of waiting for the check's budget.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CanaryAnalyzer, CheckResult } from '../../src/analysis/types.js';
import { AbortArrived } from '../../src/controller/queue.js';
import { COMMAND_ANNOTATION, COMMAND_ID_ANNOTATION } from '../../src/rollout/commands.js';
import { cartTemplate } from './cart.js';
import {
  controllerOnSandbox,
  createCart,
  ROLLOUTS,
  SUBSET_ROUTE,
  VS,
  type ControllerOnSandbox,
} from './fixture.js';

const ns = 'shop';

/** What the hanging check answers once cancelled: a failure no real check of this test makes. */
const cancelledAnswer: CheckResult = {
  verdict: 'fail',
  requests: 4242,
  errorRate: 0.5,
  metrics: {},
  failures: [{ metric: 'errorRate', value: 0.5, limit: 0.01, message: 'from the cancelled check' }],
  inconclusive: [],
};

/** Each check hangs until its signal aborts (or 30 s, so that a controller that ignores it still stops). */
function hangingAnalyzer(): CanaryAnalyzer & { started: number; reasons: unknown[] } {
  const analyzer = {
    started: 0,
    reasons: [] as unknown[],
    check: ({ signal }: { signal?: AbortSignal }) =>
      new Promise<CheckResult>((resolve) => {
        analyzer.started += 1;
        const fallback = setTimeout(() => resolve(cancelledAnswer), 30_000);
        signal?.addEventListener('abort', () => {
          analyzer.reasons.push(signal.reason);
          clearTimeout(fallback);
          resolve(cancelledAnswer);
        });
      }),
  };
  return analyzer;
}

describe('an abort while a check of the same Rollout waits for Prometheus', () => {
  let sandbox: ControllerOnSandbox;
  const analyzer = hangingAnalyzer();

  beforeAll(async () => {
    sandbox = await controllerOnSandbox(ns, 50, { analyzer });
    await createCart(sandbox, ns, 2, SUBSET_ROUTE);
    await sandbox.editSpec(ROLLOUTS, 'cart', (spec) => ({
      ...spec,
      analysis: { ...(spec.analysis as object), interval: '1s' },
    }));
    await sandbox.start();
    await sandbox.waitFor('cart', (s) => s.phase === 'Healthy');
  }, 30_000);

  afterAll(async () => {
    await sandbox?.stop();
  }, 40_000);

  it('aborts at once: weight 0 and Aborted recorded, the cancelled check recorded nowhere', async () => {
    await sandbox.apps.patchNamespacedDeployment({
      namespace: ns,
      name: 'cart',
      body: [{ op: 'replace', path: '/spec/template', value: cartTemplate('cart:2') }],
    });
    await sandbox.waitFor('cart', (s) => (s.canaryWeight ?? 0) > 0);
    await expect.poll(() => analyzer.started, { timeout: 10_000 }).toBeGreaterThan(0);

    const rollout = await sandbox.read(ROLLOUTS, 'cart');
    await sandbox.custom.replaceNamespacedCustomObject({
      ...ROLLOUTS,
      namespace: ns,
      name: 'cart',
      body: {
        ...rollout,
        metadata: {
          ...rollout.metadata,
          annotations: { [COMMAND_ANNOTATION]: 'abort', [COMMAND_ID_ANNOTATION]: 'abort-1' },
        },
      },
    });

    // Well before the hanging check's 30 s: the abort did not wait for it.
    const s = await sandbox.waitFor('cart', (x) => x.phase === 'Aborted');
    expect(s).toMatchObject({ canaryWeight: 0, lastCommand: { id: 'abort-1', accepted: true } });
    expect(s.lastRollback?.reason).toBe('Aborted');
    // The cancelled check's answer reached no status: no check was recorded, none of its values.
    expect(s.analysis?.checks ?? 0).toBe(0);
    expect(s.analysis?.requests).not.toBe(cancelledAnswer.requests);
    const vs = await sandbox.read(VS, 'cart');
    expect(vs.spec.http[0].route.map((r: { weight: number }) => r.weight)).toEqual([100, 0]);
    expect(analyzer.reasons[0]).toBeInstanceOf(AbortArrived);
  });
});
