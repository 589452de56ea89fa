import { describe, expect, it } from 'vitest';
import { createMetrics } from '@baton/metrics';
import { defineVersions } from './versions.js';
import { createVersioning } from './versioning.js';

const versions = defineVersions({ versions: ['2024-01-10', '2024-09-01', '2025-03-01'] });
const at = Date.parse('2025-06-01T00:00:00Z');

function make() {
  return createVersioning({
    versions,
    negotiation: { vendor: 'orders' },
    retirements: { '2024-01-10': { deprecatedAt: '2025-03-01', sunsetAt: '2026-01-01', link: 'https://example.com/upgrade' } },
    now: () => at,
  });
}

describe('createVersioning', () => {
  it('echoes the resolved version, names the deciding headers in Vary, and adds deprecation headers', () => {
    const versioning = make();
    expect(versioning.decide({ headers: { 'api-version': '2024-10-01' } })).toEqual({
      ok: true,
      version: '2024-09-01',
      source: 'header',
      headers: [['Api-Version', '2024-09-01'], ['Vary', 'Api-Version']],
    });
    const old = versioning.decide({ headers: {} });
    expect(old).toMatchObject({ ok: true, version: '2024-01-10', source: 'default' });
    expect(old.headers).toEqual([
      ['Api-Version', '2024-01-10'],
      ['Vary', 'Api-Version, Accept'],
      ['Deprecation', `@${Date.parse('2025-03-01') / 1000}`],
      ['Sunset', 'Thu, 01 Jan 2026 00:00:00 GMT'],
      ['Link', expect.stringContaining('rel="deprecation"')],
    ]);
  });

  it('refuses with 400, 406 or 410 and an RFC 9457 problem', () => {
    const versioning = make();
    expect(versioning.decide({ headers: { 'api-version': 'v2' } })).toMatchObject({ ok: false, status: 400, problem: { status: 400, supported: versions.list } });
    expect(versioning.decide({ headers: { accept: 'application/vnd.orders+json; version=1999-01-01' } })).toMatchObject({ ok: false, status: 406, headers: [['Vary', 'Api-Version, Accept']] });
    const later = createVersioning({ versions, retirements: { '2024-01-10': { deprecatedAt: '2025-03-01', sunsetAt: '2026-01-01' } }, now: () => Date.parse('2026-02-01') });
    expect(later.decide({ headers: { 'api-version': '2024-01-10' } })).toMatchObject({ ok: false, status: 410, problem: { type: 'urn:baton:problem:api-version-gone', supported: ['2024-09-01', '2025-03-01'] } });
  });

  it('counts requests per version and source, and exports them through @baton/metrics', async () => {
    const versioning = make();
    versioning.decide({ headers: { 'api-version': '2025-03-01' } });
    versioning.decide({ headers: { 'api-version': '2025-03-01' } });
    versioning.decide({ headers: {} });
    versioning.decide({ headers: { 'api-version': 'nope' } });
    expect(versioning.usage()).toEqual([
      { version: '2025-03-01', source: 'header', count: 2 },
      { version: '2024-01-10', source: 'default', count: 1 },
      { version: '(refused)', source: '400', count: 1 },
    ]);
    const metrics = createMetrics({ service: 'orders', release: 'v2' });
    versioning.bindMetrics(metrics).bindMetrics(metrics);
    const text = await metrics.text();
    expect(text).toContain('baton_api_version_requests_total{service="orders",release="v2",version="2025-03-01",source="header"} 2');
    expect(text).toContain('baton_api_version_requests_total{service="orders",release="v2",version="(refused)",source="400"} 1');
  });

  it('checks its options at construction', () => {
    expect(() => createVersioning({} as never)).toThrow(/give `versions`/);
    expect(() => createVersioning({ versions, negotiation: { header: 'bad header' } })).toThrow(/`header` must be a header name/);
    expect(() => createVersioning({ versions, changes: [{ version: '2024-01-10', description: 'x', routes: ['*'] }] })).toThrow(/oldest version/);
    expect(() => createVersioning({ versions, retirements: { '2025-03-01': { deprecatedAt: '2025-01-01' } } })).toThrow(/latest version cannot be retired/);
  });
});
