import type { ResolvedDeployConfig } from '../deploy-config.js';
import { formatReleaseTime, shortDigest } from '../releases/release-record.js';
import { createHistory, type HistoryEntry } from './history.js';

/** What `baton history` shows: an environment's deploys and refusals, newest first. */
export interface HistoryListing {
  service: string;
  environment?: string;
  /** Newest first. */
  entries: HistoryEntry[];
  /** Lines of the history that could not be read (file:line and why); the others are listed all the same. */
  unreadable: string[];
}

/** Reads the history of `config`'s environment (of the service, without environments). */
export async function readHistory(config: ResolvedDeployConfig): Promise<HistoryListing> {
  const { entries, unreadable } = await createHistory(config.stateDir).read();
  const listing: HistoryListing = { service: config.service, entries: [...entries].reverse(), unreadable };
  if (config.environment !== undefined) listing.environment = config.environment;
  return listing;
}

/** `baton history` for people: one line per deploy — when, release, from, how, outcome, who, artifact — and why, below, when it did not succeed. */
export function formatHistory(listing: HistoryListing, options: { limit?: number } = {}): string {
  const where = listing.environment === undefined ? listing.service : `${listing.service} in ${listing.environment}`;
  if (listing.entries.length === 0) return `${where}: no deploy yet.\n`;
  const shown = options.limit === undefined ? listing.entries : listing.entries.slice(0, options.limit);
  const serving = listing.entries.find((entry) => entry.outcome === 'succeeded');
  const rows = shown.map((entry) => [
    formatReleaseTime(entry.startedAtMs).replace(' UTC', ''),
    entry.release,
    entry.from ?? '-',
    entry.via === 'promote' ? `promote from ${entry.promotedFrom ?? '?'}` : entry.via,
    entry.outcome,
    `${entry.by.user}@${entry.by.host}`,
    entry.artifact === undefined ? 'unpinned' : `${entry.artifact.kind} ${shortDigest(entry.artifact.digest)}`,
  ]);
  const header = ['STARTED (UTC)', 'RELEASE', 'FROM', 'VIA', 'OUTCOME', 'BY', 'ARTIFACT'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] as string).length)));
  const line = (cells: readonly string[]): string => `  ${cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] as number))).join('  ')}`;
  const count = `${listing.entries.length} ${listing.entries.length === 1 ? 'entry' : 'entries'} (deploys and refusals), newest first`;
  const lines = [`${where}: ${serving === undefined ? 'no deploy has succeeded yet' : `last successful deploy ${serving.release}`}; ${count}`, line(header)];
  shown.forEach((entry, index) => {
    lines.push(line(rows[index] as string[]));
    if (entry.reason !== undefined) lines.push(`      ${entry.reason}`);
  });
  if (shown.length < listing.entries.length) lines.push(`  … and ${listing.entries.length - shown.length} older (--limit)`);
  return `${lines.join('\n')}\n`;
}
