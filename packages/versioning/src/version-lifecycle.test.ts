import { describe, expect, it } from 'vitest';
import { createVersionLifecycle } from './version-lifecycle.js';
import { defineVersions } from './versions.js';

const versions = defineVersions({ versions: ['2024-01-10', '2024-09-01', '2025-03-01'] });
const at = (iso: string) => Date.parse(iso);

describe('createVersionLifecycle', () => {
  const lifecycle = createVersionLifecycle(versions, {
    retirements: {
      '2024-01-10': { deprecatedAt: '2025-03-01', sunsetAt: '2026-01-01', link: 'https://example.com/api/upgrade' },
      '2024-09-01': { deprecatedAt: new Date('2026-06-01T00:00:00Z') },
    },
  });

  it('sends Deprecation (RFC 9745), Sunset (RFC 8594) and Link headers for retiring versions, nothing for others', () => {
    expect(lifecycle.check('2024-01-10', at('2025-06-01'))).toEqual({
      gone: false,
      headers: [
        ['Deprecation', `@${at('2025-03-01') / 1000}`],
        ['Sunset', 'Thu, 01 Jan 2026 00:00:00 GMT'],
        ['Link', '<https://example.com/api/upgrade>; rel="deprecation"; type="text/html", <https://example.com/api/upgrade>; rel="sunset"; type="text/html"'],
      ],
    });
    // A deprecation announced ahead of time is sent too.
    expect(lifecycle.check('2024-09-01', at('2025-06-01')).headers).toEqual([['Deprecation', '@1780272000']]);
    expect(lifecycle.check('2025-03-01')).toEqual({ gone: false, headers: [] });
  });

  it('answers 410 with a problem naming the versions still served once the sunset has passed', () => {
    expect(lifecycle.check('2024-01-10', at('2026-01-01'))).toMatchObject({
      gone: true,
      problem: {
        type: 'urn:baton:problem:api-version-gone',
        status: 410,
        detail: 'Version 2024-01-10 was retired on 2026-01-01. Supported versions: 2024-09-01, 2025-03-01.',
        supported: ['2024-09-01', '2025-03-01'],
        requested: '2024-01-10',
      },
    });
    const lenient = createVersionLifecycle(versions, { retirements: { '2024-01-10': { deprecatedAt: '2025-03-01', sunsetAt: '2026-01-01' } }, afterSunset: 'serve' });
    expect(lenient.check('2024-01-10', at('2027-01-01'))).toMatchObject({ gone: false, headers: [['Deprecation', expect.any(String)], ['Sunset', expect.any(String)]] });
  });

  it('refuses impossible retirements at construction', () => {
    const bad: [object, RegExp][] = [
      [{ retirements: { '2023-01-01': { deprecatedAt: '2025-01-01' } } }, /retirements\["2023-01-01"\]: not a supported version/],
      [{ retirements: { '2025-03-01': { deprecatedAt: '2025-01-01' } } }, /the latest version cannot be retired/],
      [{ retirements: { '2024-01-10': { deprecatedAt: 'soon' } } }, /`deprecatedAt` must be a Date or an ISO date/],
      [{ retirements: { '2024-01-10': { deprecatedAt: '2025-01-01', sunsetAt: '2024-12-01' } } }, /`sunsetAt` is before `deprecatedAt`/],
      [{ retirements: { '2024-01-10': { deprecatedAt: '2025-01-01', link: 'javascript:alert(1)' } } }, /`link` must be an http\(s\) URL/],
      [{ afterSunset: 'redirect' }, /`afterSunset` must be "gone" or "serve"/],
    ];
    for (const [options, message] of bad) expect(() => createVersionLifecycle(versions, options as never), String(message)).toThrow(message);
  });
});
