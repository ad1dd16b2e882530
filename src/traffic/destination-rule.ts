import { TRACK_LABEL, type Track } from '../workload/labels.js';
import { resolveHost, ruleAppliesTo } from './hosts.js';
import type { DestinationRule } from './istio-objects.js';
import type { IstioSpec } from './track-destinations.js';

type DestinationRuleSpec = NonNullable<IstioSpec['destinationRule']>;
import type { Problem } from './router.js';

const DR_PATH = 'spec.trafficRouting.istio.destinationRule';

/**
 * Checks that both subsets exist and select the pods of their track by Stepwise's track label (that the two
 * subsets differ is a rule of the spec: src/api/name-rules.ts).
 */
export function checkDestinationRule(dr: object | undefined, rule: DestinationRuleSpec): Problem[] {
  const { name, stableSubset, canarySubset } = rule;
  const wanted = (subset: string, track: Track) => `- name: ${subset}\n  labels: {${TRACK_LABEL}: ${track}}`;
  if (dr === undefined) {
    return [
      {
        path: `${DR_PATH}.name`,
        message:
          `DestinationRule ${name} was not found in the Rollout's namespace; create it with the subsets\n` +
          `${wanted(stableSubset, 'stable')}\n${wanted(canarySubset, 'canary')}\nor fix the name`,
      },
    ];
  }
  const spec = (dr as DestinationRule).spec;
  const subsets = Array.isArray(spec?.subsets) ? spec.subsets : [];
  const problems: Problem[] = [];
  for (const [field, subset, track] of [
    ['stableSubset', stableSubset, 'stable'],
    ['canarySubset', canarySubset, 'canary'],
  ] as const) {
    const found = subsets.find((s) => s.name === subset);
    if (found === undefined) {
      problems.push({
        path: `${DR_PATH}.${field}`,
        message: `DestinationRule ${name} has no subset "${subset}"; add to its subsets:\n${wanted(subset, track)}`,
      });
    } else if (found.labels?.[TRACK_LABEL] !== track) {
      const labels = Object.entries(found.labels ?? {})
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ');
      problems.push({
        path: `${DR_PATH}.${field}`,
        message:
          `DestinationRule ${name} subset "${subset}" selects {${labels}}, but Stepwise labels the ${track} pods ` +
          `${TRACK_LABEL}: ${track}; set the subset's labels to {${TRACK_LABEL}: ${track}}`,
      });
    }
  }
  return problems;
}

/**
 * Istio uses a DestinationRule's subsets only for traffic to its `spec.host` (exact or wildcard, both resolved in
 * the Rollout's namespace, where the VirtualService and the DestinationRule live). For any other host the subsets
 * do not exist and every request to them fails with 503.
 */
export function checkRuleHost(
  dr: object,
  destinationHost: string,
  rule: DestinationRuleSpec,
  namespace: string,
  clusterDomain?: string,
): Problem[] {
  const name = rule.name;
  const ruleHost = (dr as DestinationRule).spec?.host;
  const destination = resolveHost(destinationHost, namespace, clusterDomain);
  if (typeof ruleHost !== 'string' || ruleHost === '') {
    return [
      {
        path: `${DR_PATH}.name`,
        message: `DestinationRule ${name} has no spec.host; set it to ${destinationHost}, the host of the managed route`,
      },
    ];
  }
  if (ruleAppliesTo(resolveHost(ruleHost, namespace, clusterDomain), destination)) return [];
  return [
    {
      path: `${DR_PATH}.name`,
      message:
        `DestinationRule ${name} is for host ${ruleHost}, but the managed route sends traffic to ${destinationHost}` +
        `${destination === destinationHost ? '' : ` (${destination})`}; Istio applies its subsets only to its own ` +
        `host, so requests to subset ` +
        `${rule.stableSubset} would fail with 503: set its spec.host to ${destinationHost}, ` +
        `or name the DestinationRule of that host`,
    },
  ];
}
