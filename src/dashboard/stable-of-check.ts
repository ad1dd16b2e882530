import { metricsProviderOf } from '../analysis/providers/index.js';
import { validateSpec } from '../api/validate.js';
import { windowStartMs } from '../rollout/checks.js';
import { judgedSince } from '../rollout/pass.js';
import { intervalMs } from '../rollout/plan.js';
import type { RolloutObject } from '../kube/cluster.js';
import type { CheckSample } from './check-recorder.js';
import { trackValues } from './track-values.js';

/** Fills in stable's values of a check just seen, or says why there are none. */
export async function addStableValues(rollout: RolloutObject, check: CheckSample): Promise<void> {
  const checked = validateSpec(rollout.spec);
  const spec = checked.ok ? checked.spec : rollout.status?.lastValidSpec;
  const address = spec?.analysis.prometheus?.address;
  const since = rollout.status && judgedSince(rollout.status);
  if (!spec || !address || !since) {
    check.stableUnavailable = address
      ? "the status no longer named the step's start when the check was seen"
      : "the Rollout names no Prometheus (the controller's --prometheus-address is not known here)";
    return;
  }
  try {
    const values = await trackValues({
      address,
      namespace: rollout.metadata.namespace,
      app: spec.targetRef.name,
      provider: metricsProviderOf(spec.analysis),
      // The window the check's thresholds judged (rollout/checks.ts).
      since: new Date(windowStartMs(Date.parse(since), intervalMs(spec))),
      at: new Date(check.at),
    });
    if ('unavailable' in values) check.stableUnavailable = values.unavailable;
    else check.stable = values.stable;
  } catch (error) {
    check.stableUnavailable = error instanceof Error ? error.message : String(error);
  }
}
