/** Set by vitest.cluster.config.ts: the e2e scenarios and the API contract run on a real control plane. */
export const CLUSTER_TIER = process.env.STEPWISE_TEST_TIER === 'cluster';
