/** The median of finite values; NaN when there are none. */
export function median(values: readonly number[]): number {
  const sorted = values.filter(Number.isFinite).toSorted((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Relative spread (max - min) / median, to show how noisy a figure was. */
export function spread(values: readonly number[]): number {
  const finite = values.filter(Number.isFinite);
  const mid = median(finite);
  if (finite.length === 0 || !(mid > 0)) return Number.NaN;
  return (Math.max(...finite) - Math.min(...finite)) / mid;
}
