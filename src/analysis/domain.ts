import { isNoValue, noValue, type QueryValue } from './prometheus.js';

// What a measured value can be. A number outside its domain (a negative count, an error rate of -1 or 10^6) is not
// data but a broken query, recording rule or exporter: it becomes "no value", which is never a pass, and it never
// reaches the thresholds' arithmetic or the stored comparison.

export type Domain = 'count' | 'ratio' | 'milliseconds';

const DOMAIN_WORDS: Record<Domain, string> = {
  count: 'a count must be 0 or more',
  ratio: 'a share of requests must be between 0 and 1',
  milliseconds: 'a latency must be 0 ms or more',
};

function inDomain(value: number, domain: Domain): boolean {
  return domain === 'ratio' ? value >= 0 && value <= 1 : value >= 0;
}

/** The value when it is inside its domain, else a NoValue naming the measurement, the value and the domain. */
export function withinDomain(value: QueryValue, domain: Domain, measurement: string): QueryValue {
  if (isNoValue(value) || inDomain(value, domain)) return value;
  return noValue(
    'out-of-domain',
    `${measurement} ${value} is not a possible value (${DOMAIN_WORDS[domain]}); check the metrics Prometheus holds`,
  );
}
