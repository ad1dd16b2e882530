import type { AnalysisSpec } from '../../api/schema.js';
import { CILIUM_HUBBLE } from './cilium.js';
import { customProvider } from './custom.js';
import { ISTIO_AMBIENT, ISTIO_SIDECAR } from './istio.js';
import { LINKERD } from './linkerd.js';
import type { MetricsProvider } from './provider.js';

export type { MetricsProvider } from './provider.js';

/**
 * The metrics provider a Rollout's analysis reads: analysis.metricsProvider, else Istio's sidecars, for every routing
 * mode (Istio's sidecars report an HTTPRoute's traffic as they do a VirtualService's).
 */
export function metricsProviderOf(
  analysis: Pick<AnalysisSpec, 'metricsProvider' | 'customMetrics'>,
): MetricsProvider {
  switch (analysis.metricsProvider ?? 'istio') {
    case 'istio':
      return ISTIO_SIDECAR;
    case 'istio-ambient':
      return ISTIO_AMBIENT;
    case 'linkerd':
      return LINKERD;
    case 'cilium':
      return CILIUM_HUBBLE;
    case 'custom':
      if (!analysis.customMetrics) {
        throw new Error('analysis.metricsProvider is custom but analysis.customMetrics is missing; add it');
      }
      return customProvider(analysis.customMetrics);
  }
}
