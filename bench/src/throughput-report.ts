import type { ThroughputResult, VariantResult } from './throughput.js';

/** Baton's throughput target: at least this share of the bare framework. */
export const THROUGHPUT_TARGET = 0.97;

const HEADERS = ['Variant', 'req/s (median)', 'vs bare (req/s)', 'vs bare (per server CPU)', 'head-to-head (per server CPU)', 'p99 ms', 'spread', 'server CPU', 'quiet rounds', 'failed'];

/** Rows of the throughput table, one per variant, formatted. */
function rows(result: ThroughputResult): string[][] {
  return result.variants.map((v) => [
    v.variant.label,
    Math.round(v.requestsPerSecond).toLocaleString('en-US'),
    v.variant.baseline ? '1 (baseline)' : percent(v.ratioToBare),
    v.variant.baseline ? '1 (baseline)' : percent(v.cpuRatioToBare),
    v.duel ? percent(v.duel.cpuRatioToBare) : v.variant.baseline ? '1 (baseline)' : 'n/a',
    v.p99Ms.toFixed(1),
    `±${percent(v.spread / 2)}`,
    percent(v.serverCpuShare),
    `${v.cleanRounds}/${v.samples.length}`,
    String(v.failures),
  ]);
}

/** The throughput figures as an aligned plain-text table, for the terminal. */
export function throughputTable(result: ThroughputResult): string {
  const all = [HEADERS, ...rows(result)];
  const widths = HEADERS.map((_, col) => Math.max(...all.map((row) => (row[col] ?? '').length)));
  const line = (row: string[]): string => row.map((cell, col) => cell.padEnd(widths[col] ?? 0)).join('  ');
  return [line(HEADERS), widths.map((w) => '-'.repeat(w)).join('  '), ...rows(result).map(line), '', ...verdicts(result), ...controlLines(result)].join('\n');
}

/** The throughput figures as a Markdown table, for RESULTS.md. */
export function throughputMarkdown(result: ThroughputResult): string {
  const md = (row: string[]): string => `| ${row.join(' | ')} |`;
  return [
    md(HEADERS),
    md(HEADERS.map((_, i) => (i === 0 ? '---' : '---:'))),
    ...rows(result).map(md),
    '',
    ...verdicts(result).map((v) => `- ${v}`),
    ...controlLines(result).map((v) => `- ${v}`),
  ].join('\n');
}

/**
 * The ratio the target is judged on: the head-to-head one when it was run
 * (both servers under load at the same instant, so the machine's drift
 * cancels out), else the back-to-back one.
 */
export function decidingRatio(v: VariantResult): number {
  return v.duel ? v.duel.cpuRatioToBare : v.ratioToBare;
}

/** One line per Baton variant: does it meet the target? */
export function verdicts(result: ThroughputResult): string[] {
  return result.variants.filter(isBaton).map((v) => {
    const meets = decidingRatio(v) >= THROUGHPUT_TARGET;
    const duel = v.duel
      ? `head-to-head ${percent(v.duel.cpuRatioToBare)} of bare per server CPU (runs: ${v.duel.duels.map((d) => percent(d.variant.requestsPerCpuSecond / d.baseline.requestsPerCpuSecond)).join(', ')}); `
      : '';
    return `${v.variant.label}: ${duel}back-to-back ${percent(v.ratioToBare)} of bare req/s (${percent(v.cpuRatioToBare)} per server CPU) — target ≥ ${percent(THROUGHPUT_TARGET)}: ${meets ? 'met' : 'NOT met'}`;
  });
}

/** The A/A controls: bare against bare, which should come out at 100%. */
export function controlLines(result: ThroughputResult): string[] {
  return result.controls.map(
    (c) =>
      `Control (${c.framework} bare against a second bare process, head-to-head): ${percent(c.duel.cpuRatioToBare)} per server CPU (runs: ${c.duel.duels.map((d) => percent(d.variant.requestsPerCpuSecond / d.baseline.requestsPerCpuSecond)).join(', ')})`,
  );
}

/** True when every Baton variant meets the throughput target. */
export function meetsThroughputTarget(result: ThroughputResult): boolean {
  return result.variants.filter(isBaton).every((v) => decidingRatio(v) >= THROUGHPUT_TARGET);
}

export function isBaton(v: VariantResult): boolean {
  return v.variant.id.endsWith('-baton');
}

export function percent(value: number): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(1)}%` : 'n/a';
}
