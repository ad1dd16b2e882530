import type { Problem } from './router.js';

// Istio ambient reports request metrics (reporter="waypoint") only from a waypoint proxy; ztunnel alone reports L4
// bytes and connections. A Service whose traffic no waypoint handles would give "no canary traffic" at every check,
// so a Rollout reading ambient's metrics must not start until its Service is bound to one.
// Istio writes the binding on the Service: status condition istio.io/WaypointBound (pilot/pkg/serviceregistry/kube/
// controller/ambient, ConditionType WaypointBound), True once it is attached to an existing waypoint; before Istio
// wrote conditions (1.22), the Service's istio.io/use-waypoint label is the only sign.

export const WAYPOINT_BOUND = 'istio.io/WaypointBound';
export const USE_WAYPOINT_LABEL = 'istio.io/use-waypoint';
/** Where the problem is reported: the field that asked for ambient's metrics. */
export const WAYPOINT_PROBLEM_PATH = 'spec.analysis.metricsProvider';

const HOW_TO_ADD = (namespace: string, service: string) =>
  `add one: \`istioctl waypoint apply -n ${namespace} --enroll-namespace\`, or for this Service alone \`istioctl waypoint apply -n ${namespace}\` then \`kubectl label service ${service} -n ${namespace} ${USE_WAYPOINT_LABEL}=waypoint\``;

/** The parts of a Service the check reads. */
export interface AddressedService {
  metadata?: { name?: string; labels?: Record<string, string> };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

/** Why the Service is not (yet) known to send its traffic through a waypoint, or undefined when it does. */
export function waypointProblem(
  service: AddressedService | undefined,
  namespace: string,
  name: string,
): string | undefined {
  const why = `Istio ambient reports request metrics only from a waypoint (reporter="waypoint"), so no canary could be judged (analysis.metricsProvider: istio-ambient)`;
  // A parent Service that does not exist routes nothing at all; that is the route's problem, not the waypoint's (and
  // `stepwise validate` may simply not have been given it).
  if (!service) return undefined;
  const bound = service.status?.conditions?.find((condition) => condition.type === WAYPOINT_BOUND);
  if (bound?.status === 'True') return undefined;
  const label = service.metadata?.labels?.[USE_WAYPOINT_LABEL];
  if (bound) {
    return `Service "${name}" is not bound to a waypoint (${WAYPOINT_BOUND} ${bound.reason ?? 'False'}: ${bound.message ?? 'no message'}); ${why}; ${HOW_TO_ADD(namespace, name)}`;
  }
  if (label !== undefined && label !== 'none') return undefined;
  return `Service "${name}" uses no waypoint (no ${USE_WAYPOINT_LABEL} label, no ${WAYPOINT_BOUND} condition); ${why}; ${HOW_TO_ADD(namespace, name)}`;
}

/** The problems of the Services callers address (the routes' parents), read with `getService`. */
export async function waypointProblems(
  getService: (namespace: string, name: string) => Promise<AddressedService | undefined>,
  namespace: string,
  services: string[],
): Promise<Problem[]> {
  const found = await Promise.all(services.map((name) => getService(namespace, name)));
  return services.flatMap((name, i) => {
    const message = waypointProblem(found[i], namespace, name);
    return message ? [{ path: WAYPOINT_PROBLEM_PATH, message }] : [];
  });
}
