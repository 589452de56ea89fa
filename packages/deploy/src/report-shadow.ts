import type { ShadowStatus } from './shadow/shadow-step.js';

/**
 * The report's shadow section: each shadow step's verdict, then per route
 * how many requests were copied and compared, how many answers differed and
 * where (paths, values described by type and size), the candidate's
 * failures and both medians.
 */
export function renderShadowSection(shadows: readonly ShadowStatus[], escape: (text: string) => string): string {
  if (shadows.length === 0) return '';
  const items = shadows.map((shadow) => {
    const skipped = shadow.skipped.method + shadow.skipped.body + shadow.skipped.noCandidate;
    const head = `<b>${shadow.outcome}</b>: ${shadow.mirrored} requests copied to ${escape(shadow.candidate)}, ${shadow.compared} answers compared${shadow.notInShare > 0 ? `, ${shadow.notInShare} left out of the share` : ''}${skipped > 0 ? `, ${skipped} not copied (method ${shadow.skipped.method}, body ${shadow.skipped.body}, no candidate ${shadow.skipped.noCandidate})` : ''}.`;
    const rows = shadow.routes
      .map((route) => {
        const medians = route.candidateLatencyMs === undefined || route.stableLatencyMs === undefined ? '—' : `${route.candidateLatencyMs.toFixed(1)} ms against ${route.stableLatencyMs.toFixed(1)} ms`;
        const where = route.differences
          .slice(0, 3)
          .map((difference) => `${difference.path}: ${difference.stable} → ${difference.candidate} (×${difference.count})`)
          .join('<br>');
        const failing = route.different > 0 || route.candidateErrors > 0;
        return `<tr class="${failing ? 'fail' : 'pass'}"><td>${escape(route.route)}</td><td>${route.mirrored}</td><td>${route.compared}</td><td>${route.different}</td><td>${route.candidateErrors}</td><td>${escape(medians)}</td><td>${where === '' ? '—' : where.split('<br>').map(escape).join('<br>')}</td></tr>`;
      })
      .join('');
    const table = rows === '' ? '' : `<table class="routes"><thead><tr><th>Route</th><th>Copied</th><th>Compared</th><th>Different</th><th>Candidate failed</th><th>Median, candidate against stable</th><th>Where answers differ</th></tr></thead><tbody>${rows}</tbody></table>`;
    return `<li class="${shadow.outcome}">${head}<small>${shadow.reasons.map(escape).join('<br>')}</small>${table}</li>`;
  });
  return `<h2>Shadow</h2><p>Copies of live requests sent to the candidate while it served no one; clients got the stable release's answers only.</p><ul>${items.join('')}</ul>`;
}
