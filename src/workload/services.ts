import type { V1Deployment, V1Service, V1ServicePort } from '@kubernetes/client-node';
import type { RolloutOwner } from './deployments.js';
import { TRACK_LABEL, managedLabels, type Track } from './labels.js';

// A host split routes to one Service per track. Stepwise creates a missing one as the track's Deployment is
// created: the target's selector plus the track label, the ports of the user's Service for the app (so a route's
// `port.number` means the same on every host), owned by the Rollout so it goes with it.

/** Ports of the user's Service, else one per named or numbered container port of the target's pod template. */
function portsFor(target: V1Deployment, appService: V1Service | undefined): V1ServicePort[] {
  const given = appService?.spec?.ports;
  if (given?.length) {
    return given.map(({ name, port, targetPort, protocol, appProtocol }) => ({
      ...(name !== undefined && { name }),
      port,
      ...(targetPort !== undefined && { targetPort }),
      ...(protocol !== undefined && { protocol }),
      ...(appProtocol !== undefined && { appProtocol }),
    }));
  }
  const containers = target.spec?.template?.spec?.containers ?? [];
  return containers.flatMap((c) =>
    (c.ports ?? []).map((p) => ({
      ...(p.name !== undefined && { name: p.name }),
      port: p.containerPort,
      targetPort: p.containerPort,
      ...(p.protocol !== undefined && { protocol: p.protocol }),
    })),
  );
}

export function trackService(options: {
  name: string;
  target: V1Deployment;
  track: Track;
  owner: RolloutOwner;
  appService?: V1Service;
}): V1Service {
  const { name, target, track, owner, appService } = options;
  const ports = portsFor(target, appService);
  if (ports.length === 0) {
    throw new TypeError(
      `trackService: neither a Service ${target.metadata?.name} nor a container port of Deployment ` +
        `${target.metadata?.name} says which port Service ${name} should serve`,
    );
  }
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      ...(target.metadata?.namespace !== undefined && { namespace: target.metadata.namespace }),
      labels: managedLabels(track),
      ownerReferences: [{ ...owner, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      selector: { ...target.spec?.selector?.matchLabels, [TRACK_LABEL]: track },
      ports,
    },
  };
}

/** Why an existing Service cannot carry one track's traffic, or undefined when it can. */
export function trackServiceProblem(service: V1Service, track: Track): string | undefined {
  const selector = service.spec?.selector ?? {};
  if (selector[TRACK_LABEL] === track) return undefined;
  const shown = Object.entries(selector)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  return (
    `Service ${service.metadata?.name} selects {${shown}}, so it would send ${track} traffic to pods of either ` +
    `track; add ${TRACK_LABEL}: ${track} to its selector, or delete it and Stepwise creates it`
  );
}
