// How a classic histogram bucket's `le` label reads in Prometheus. Envoy (so Istio) exports edges with
// fmt "{:.32g}" ("500", "0.5", "3600000": source/server/admin/prometheus_stats.cc); Prometheus 2.x stores that
// text as it is. Prometheus 3 parses `le` of histograms (and `quantile` of summaries) on scrape and on promtool
// backfill and stores it in OpenMetrics float format instead ("500.0", "0.5", "3.6e+06"):
// normalizeFloatsInLabelValues in model/textparse/promparse.go and openmetricsparse.go, with
// labels.FormatOpenMetricsFloat in model/labels/float.go (prometheus/prometheus v3). A selector must accept both.

/** Go's strconv.FormatFloat(f, 'g', -1, 64), which Prometheus and Go exporters use for floats. */
function goShortestG(value: number): string {
  // JavaScript's shortest round-trip digits are Go's; only the choice of form and the exponent's padding differ.
  const [mantissa, exponentText] = value.toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  // With the shortest precision Go switches to the exponent form at exp < -4 or exp >= 6 (strconv ftoa.go, %e).
  if (exponent < -4 || exponent >= 6) {
    const digits = String(Math.abs(exponent)).padStart(2, '0');
    return `${mantissa}e${exponent < 0 ? '-' : '+'}${digits}`;
  }
  return String(value);
}

/** The edge as Prometheus 3 stores it: Go's shortest 'g' format, with ".0" when it has neither "." nor "e". */
export function openMetricsFloat(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (Number.isNaN(value)) return 'NaN';
  const text = goShortestG(value);
  return /[.e]/.test(text) ? text : `${text}.0`;
}

/**
 * Every spelling of a bucket edge a Prometheus may hold: the exporter's (Envoy's plain decimals, or Go clients'
 * shortest 'g', which is "3.6e+06" for large edges) and Prometheus 3's.
 */
export function leSpellings(edge: number): string[] {
  if (edge === Infinity) return ['+Inf'];
  return [...new Set([String(edge), goShortestG(edge), openMetricsFloat(edge)])];
}

const regexEscape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The label matcher for one bucket whichever Prometheus stored it, as PromQL text: `le=~"500|500\\.0"`.
 * (Inside a PromQL double-quoted string a backslash is written twice.)
 */
export function leMatcher(edge: number): string {
  const spellings = leSpellings(edge);
  if (spellings.length === 1) return `le="${spellings[0]}"`;
  return `le=~"${spellings.map(regexEscape).join('|').replace(/\\/g, '\\\\')}"`;
}

/**
 * One bucket of `selector` (e.g. `metric{a="b"}`) per series, whichever way its `le` is spelled. Right after an
 * upgrade from 2.x to 3.x both spellings of one series are in the lookback window for a few minutes; keeping the
 * larger (the newer reading of the same counter) counts it once instead of twice.
 */
export function bucketSeries(metric: string, matchers: string, edge: number, suffix = ''): string {
  return `max without (le) (${metric}{${matchers}, ${leMatcher(edge)}}${suffix})`;
}
