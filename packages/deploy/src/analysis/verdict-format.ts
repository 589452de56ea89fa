// How verdicts write figures, the same in every sentence.

/** `2.1%` */
export function formatPercent(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}

/** Error-rate points: `1.0` for 0.01. */
export function formatPoints(rate: number): string {
  return (rate * 100).toFixed(1);
}

/** A request count; fractional only when counters made it so. */
export function formatCount(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** Seconds as milliseconds: `4.2 ms`, `312 ms`. */
export function formatMs(seconds: number): string {
  const ms = seconds * 1000;
  return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

/** A window's length: `2.5 s`, `60 s`. */
export function formatSeconds(seconds: number): string {
  return seconds < 10 ? `${seconds.toFixed(1)} s` : `${Math.round(seconds)} s`;
}

/** `99` for 0.99, `99.9` for 0.999. */
export function formatQuantile(q: number): string {
  return String(Number((q * 100).toPrecision(12)));
}

/** The key compareSnapshots gives a quantile's latency (`p99`, `p99.9`). */
export function quantileKey(q: number): string {
  return `p${formatQuantile(q)}`;
}

/** A p-value people can read: `p = 0.034`, `p < 0.0001`. */
export function formatP(p: number): string {
  if (p < 0.0001) return 'p < 0.0001';
  return `p = ${p < 0.001 ? p.toFixed(4) : p < 0.01 ? p.toFixed(3) : p.toFixed(2)}`;
}

/** A ratio: `1.47×`. */
export function formatRatio(ratio: number): string {
  return Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : 'unbounded';
}
