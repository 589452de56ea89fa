import type { StragglerSummary } from './orchestrator/dns-switch.js';

/**
 * The report's DNS section: for each stack the record left, how long its
 * traffic went on after the switch, as a bar per second (the straggler
 * curve), and why it retired (quiet for the TTL plus the margin, or the
 * deadline).
 */
export function renderStragglersSection(stragglers: readonly StragglerSummary[], escape: (text: string) => string): string {
  if (stragglers.length === 0) return '';
  const items = stragglers.map((summary) => {
    const head =
      summary.ended === 'quiet'
        ? `<b>quiet</b>: ${escape(summary.release)} (the ${summary.color} stack) took ${summary.requests} requests after the switch, the last ${(summary.lastRequestMs / 1000).toFixed(1)} s after it; retired ${(summary.waitedMs / 1000).toFixed(1)} s after the switch (TTL ${summary.ttl} s + ${(summary.marginMs / 1000).toFixed(1)} s with none).`
        : `<b>deadline</b>: ${escape(summary.release)} (the ${summary.color} stack) still took requests ${(summary.waitedMs / 1000).toFixed(1)} s after the switch (${summary.requests} in all, the last ${(summary.lastRequestMs / 1000).toFixed(1)} s after it): retired at the deadline. Those are clients keeping an address past its TTL.`;
    return `<li class="${summary.ended === 'quiet' ? 'pass' : 'fail'}">${head}${curveChart(summary)}</li>`;
  });
  return `<h2>DNS switch</h2><p>Clients move as their cached answer expires. The stack the record left stays up until it has seen no new request for the TTL plus a margin: requests per second it took after the switch.</p><ul>${items.join('')}</ul>`;
}

function curveChart(summary: StragglerSummary): string {
  const points = summary.curve;
  if (points.length === 0) return '';
  const width = 900;
  const height = 120;
  const left = 40;
  const bottom = 20;
  const top = 8;
  const max = Math.max(1, ...points.map((point) => point.requests));
  const last = Math.max(1, ...points.map((point) => point.second));
  const barWidth = Math.max(1, (width - left - 8) / (last + 1) - 1);
  const x = (second: number): number => left + (second / (last + 1)) * (width - left - 8);
  const bars = points
    .map((point) => {
      const h = (point.requests / max) * (height - top - bottom);
      return `<rect x="${x(point.second - 1).toFixed(1)}" y="${(height - bottom - h).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${h.toFixed(1)}" fill="#2563eb"><title>${point.second} s after the switch: ${point.requests} requests</title></rect>`;
    })
    .join('');
  const ticks = [0, Math.round(last / 2), last].map((second) => `<text x="${x(second).toFixed(1)}" y="${height - 5}" text-anchor="middle">${second} s</text>`).join('');
  return `<figure class="stragglers"><figcaption>Requests per second to ${summary.color} after the switch</figcaption><svg viewBox="0 0 ${width} ${height}" role="img" aria-label="straggler curve"><rect x="${left}" y="${top}" width="${width - left - 8}" height="${height - top - bottom}" class="plot"/>${bars}<text x="${left - 6}" y="${top + 8}" text-anchor="end">${max}</text><text x="${left - 6}" y="${height - bottom}" text-anchor="end">0</text>${ticks}</svg></figure>`;
}
