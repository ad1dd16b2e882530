import { apiMessage, httpStatus } from '../kube/errors.js';
import type { Problem } from './router.js';

// Istio ambient reports request metrics (reporter="waypoint") only from a waypoint proxy; ztunnel alone reports L4
// bytes and connections. A Service whose traffic no waypoint handles would give "no canary traffic" at every check,
// so a Rollout reading ambient's metrics must not start until its Service is bound to one.
//
// How Istio picks a Service's waypoint (pilot/pkg/serviceregistry/kube/controller/ambient/waypoints.go,
// fetchWaypointForTarget, the same from 1.22 on): the Service's istio.io/use-waypoint label; "none" opts the Service
// out, whatever its namespace says; without a label on the Service, the label of its Namespace.
// Istio 1.24 added the status condition istio.io/WaypointBound on the Service (#51945 "ambient: initial status
// writing", pilot/pkg/model/service.go, written when AMBIENT_ENABLE_STATUS is on, the default): True once the
// waypoint chosen either way exists and accepts the Service, False with a reason when it does not, absent when no
// label asks for one. Istio 1.22 and 1.23 write no condition, nor does 1.24+ with status writing turned off: there
// the labels, the Service's or else its Namespace's, are the only sign.

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

/** What is known of the Service's Namespace: its labels, or why they could not be read. */
export type NamespaceLabels = { labels?: Record<string, string> } | { unreadable: string };

/** The waypoint a use-waypoint label names, "none" when it opts out (1.22 also reserved "~" and "<ns>/none"). */
function useWaypoint(labels: Record<string, string> | undefined): string | undefined {
  const value = labels?.[USE_WAYPOINT_LABEL];
  if (value === undefined) return undefined;
  return value === 'none' || value === '~' || value.endsWith('/none') ? 'none' : value;
}

/** Why the Service is not (yet) known to send its traffic through a waypoint, or undefined when it does. */
export function waypointProblem(
  service: AddressedService | undefined,
  namespace: string,
  name: string,
  namespaceLabels: NamespaceLabels = {},
): string | undefined {
  const why = `Istio ambient reports request metrics only from a waypoint (reporter="waypoint"), so no canary could be judged (analysis.metricsProvider: istio-ambient)`;
  // A parent Service that does not exist routes nothing at all; that is the route's problem, not the waypoint's (and
  // `stepwise validate` may simply not have been given it).
  if (!service) return undefined;
  const bound = service.status?.conditions?.find((condition) => condition.type === WAYPOINT_BOUND);
  if (bound?.status === 'True') return undefined;
  if (bound) {
    return `Service "${name}" is not bound to a waypoint (${WAYPOINT_BOUND} ${bound.reason ?? 'False'}: ${bound.message ?? 'no message'}); ${why}; ${HOW_TO_ADD(namespace, name)}`;
  }
  const own = useWaypoint(service.metadata?.labels);
  if (own === 'none') {
    return `Service "${name}" opts out of waypoints (${USE_WAYPOINT_LABEL}: ${service.metadata!.labels![USE_WAYPOINT_LABEL]}, which its namespace's label does not override); ${why}; remove that label, or ${HOW_TO_ADD(namespace, name)}`;
  }
  if (own !== undefined) return undefined;
  if ('unreadable' in namespaceLabels) {
    return `Service "${name}" has no ${USE_WAYPOINT_LABEL} label nor ${WAYPOINT_BOUND} condition, and Namespace ${namespace} could not be read to see its own ${USE_WAYPOINT_LABEL} label (${namespaceLabels.unreadable}); ${why}; grant the controller get on its Namespace (the chart's Role does), label the Service, or ${HOW_TO_ADD(namespace, name)}`;
  }
  const inherited = useWaypoint(namespaceLabels.labels);
  if (inherited !== undefined && inherited !== 'none') return undefined;
  return `Service "${name}" uses no waypoint (no ${USE_WAYPOINT_LABEL} label on it or its namespace, no ${WAYPOINT_BOUND} condition); ${why}; ${HOW_TO_ADD(namespace, name)}`;
}

/** The Namespace's labels read with `getNamespace`; a forbidden read (an older chart's RBAC) is said, not thrown. */
export async function namespaceLabels(
  getNamespace: (name: string) => Promise<{ metadata?: { labels?: Record<string, string> } } | undefined>,
  namespace: string,
): Promise<NamespaceLabels> {
  try {
    return { labels: (await getNamespace(namespace))?.metadata?.labels };
  } catch (error) {
    if (httpStatus(error) !== 403) throw error;
    return { unreadable: apiMessage(error) };
  }
}

/** The problems of the Services callers address (the routes' parents), read with `getService`. */
export async function waypointProblems(
  reads: {
    getService: (namespace: string, name: string) => Promise<AddressedService | undefined>;
    getNamespace: (name: string) => Promise<{ metadata?: { labels?: Record<string, string> } } | undefined>;
  },
  namespace: string,
  services: string[],
): Promise<Problem[]> {
  const found = await Promise.all(services.map((name) => reads.getService(namespace, name)));
  // Read only when a Service leaves it to its namespace: Istio ≥ 1.24 answers in the Service's condition.
  const leftToNamespace = found.some(
    (service) =>
      service &&
      !service.status?.conditions?.some((c) => c.type === WAYPOINT_BOUND) &&
      useWaypoint(service.metadata?.labels) === undefined,
  );
  const labels = leftToNamespace ? await namespaceLabels(reads.getNamespace, namespace) : {};
  return services.flatMap((name, i) => {
    const message = waypointProblem(found[i], namespace, name, labels);
    return message ? [{ path: WAYPOINT_PROBLEM_PATH, message }] : [];
  });
}
