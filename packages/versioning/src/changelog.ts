import type { VersionChain } from './version-chain.js';
import type { VersionRetirement } from './version-lifecycle.js';

/** Options of {@link renderChangelog}. */
export interface ChangelogOptions<V extends string> {
  /** The API's name, for the title. Default `API`. */
  title?: string;
  /** The same retirements given to `createVersionLifecycle`, to mark deprecated and sunset versions. */
  retirements?: Partial<Record<V, VersionRetirement>>;
}

/**
 * The changelog of an API as Markdown, generated from its chain: newest
 * version first, each with the changes it introduced (their descriptions,
 * the routes they touch, routes added and removed) and its deprecation and
 * sunset dates. Kept in step with the code because it is the code.
 */
export function renderChangelog<V extends string>(chain: VersionChain<V>, options: ChangelogOptions<V> = {}): string {
  const lines = [`# ${options.title ?? 'API'} changelog`, ''];
  const newestFirst = [...chain.versions.list].reverse();
  for (const version of newestFirst) {
    const notes: string[] = [];
    if (version === chain.versions.latest) notes.push('latest');
    if (version === chain.versions.default) notes.push('default for requests that name no version');
    const retirement = options.retirements?.[version];
    if (retirement !== undefined) {
      notes.push(`deprecated ${dateOf(retirement.deprecatedAt)}`);
      if (retirement.sunsetAt !== undefined) notes.push(`sunset ${dateOf(retirement.sunsetAt)}`);
    }
    lines.push(`## ${version}${notes.length === 0 ? '' : ` (${notes.join('; ')})`}`, '');
    const changes = chain.changes.filter((change) => change.version === version);
    if (changes.length === 0) {
      lines.push(version === chain.versions.oldest ? 'The first supported version.' : 'No breaking changes.', '');
      continue;
    }
    for (const change of changes) {
      lines.push(`- ${change.description}`);
      const touched = change.routes.includes('*') ? 'every route' : change.routes.map((route) => `\`${route}\``).join(', ');
      const what = [change.request ? 'requests' : undefined, change.response ? 'responses' : undefined, change.error ? 'errors' : undefined].filter((part) => part !== undefined);
      if (what.length > 0) lines.push(`  - ${what.join(', ')} of ${touched}`);
      if (change.routesAdded?.length) lines.push(`  - new: ${change.routesAdded.map((route) => `\`${route}\``).join(', ')}`);
      if (change.routesRemoved?.length) lines.push(`  - removed: ${change.routesRemoved.map((route) => `\`${route}\``).join(', ')}`);
    }
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

function dateOf(value: Date | string): string {
  return value instanceof Date ? value.toISOString().slice(0, 10) : value.slice(0, 10);
}
