import { describe, expect, it } from 'vitest';
import { renderChangelog } from './changelog.js';
import { versionChange } from './version-change.js';
import { createVersionChain } from './version-chain.js';
import { defineVersions } from './versions.js';

describe('renderChangelog', () => {
  it('lists each version newest first with the changes it introduced, routes added and removed, and its retirement', () => {
    const versions = defineVersions({ versions: ['2024-01-10', '2024-09-01', '2025-03-01', '2025-06-01'] });
    const chain = createVersionChain(versions, [
      versionChange({ version: '2024-09-01', description: '`customer` is split into `customerId` and `customerName`.', routes: ['GET /orders/:id', 'POST /orders'], request: { upgrade: (body) => body }, response: { downgrade: (body) => body } }),
      versionChange({ version: '2025-06-01', description: 'Refunds replace voids.', routes: ['POST /orders/:id/refund'], routesAdded: ['POST /orders/:id/refund'], routesRemoved: ['POST /orders/:id/void'] }),
      versionChange({ version: '2025-06-01', description: 'Errors are RFC 9457 problems.', routes: ['*'], error: { downgrade: (body) => body } }),
    ]);
    expect(renderChangelog(chain, { title: 'Orders API', retirements: { '2024-01-10': { deprecatedAt: '2025-03-01', sunsetAt: new Date('2026-01-01T00:00:00Z') } } })).toBe(
      [
        '# Orders API changelog',
        '',
        '## 2025-06-01 (latest)',
        '',
        '- Refunds replace voids.',
        '  - new: `POST /orders/:id/refund`',
        '  - removed: `POST /orders/:id/void`',
        '- Errors are RFC 9457 problems.',
        '  - errors of every route',
        '',
        '## 2025-03-01',
        '',
        'No breaking changes.',
        '',
        '## 2024-09-01',
        '',
        '- `customer` is split into `customerId` and `customerName`.',
        '  - requests, responses of `GET /orders/:id`, `POST /orders`',
        '',
        '## 2024-01-10 (default for requests that name no version; deprecated 2025-03-01; sunset 2026-01-01)',
        '',
        'The first supported version.',
        '',
      ].join('\n'),
    );
  });
});
