export {
  behaviourFromImageTag,
  HEALTHY_BEHAVIOUR,
  type BehaviourOf,
  type PodBehaviour,
} from './behaviour.js';
export {
  meshConfigFromManifests,
  staticConfigSource,
  type MeshConfig,
  type MeshConfigSource,
  type StaticConfigSource,
} from './config.js';
export { kubernetesConfigSource, type KubernetesSourceOptions } from './kubernetes-source.js';
export { startMesh, type Mesh, type MeshOptions } from './mesh.js';
export { ISTIO_DURATION_BUCKETS_MS } from './metrics.js';
export type { MirrorStat } from './mirror.js';
export {
  MeshTraffic,
  type HeaderRequests,
  type RequestStat,
  type TrafficOptions,
  type UserRequests,
  type WeightRecord,
} from './traffic.js';
