import { describe, expect, it } from 'vitest';
import { migratePayload } from './migrate-payload.js';
import { versionChange } from './version-change.js';
import { createVersionChain } from './version-chain.js';
import { defineVersions } from './versions.js';

const versions = defineVersions({ versions: ['2024-01-10', '2024-09-01', '2025-03-01'] });
const chain = createVersionChain(versions, [
  versionChange<{ customer: string }, { customerId: string; customerName: string }, { customer: string }, { customerId: string; customerName: string }>({
    version: '2024-09-01',
    description: '`customer` is split into `customerId` and `customerName`.',
    routes: ['EVENT order.created', 'GET /orders/:id'],
    request: { upgrade: ({ customer, ...rest }) => ({ ...rest, customerId: customer.split(':')[0] ?? '', customerName: customer.split(':')[1] ?? '' }) },
    response: { downgrade: ({ customerId, customerName, ...rest }) => ({ ...rest, customer: `${customerId}:${customerName}` }) },
  }),
  versionChange<{ total: number }, { totalCents: number }, { total: number }, { totalCents: number }>({
    version: '2025-03-01',
    description: '`total` becomes `totalCents`.',
    routes: ['EVENT order.created'],
    request: { upgrade: ({ total, ...rest }) => ({ ...rest, totalCents: Math.round(total * 100) }) },
    response: { downgrade: ({ totalCents, ...rest }) => ({ ...rest, total: totalCents / 100 }) },
  }),
]);

describe('migratePayload', () => {
  const newest = { id: 'o1', customerId: 'c7', customerName: 'Ada', totalCents: 1250 };
  const oldest = { id: 'o1', customer: 'c7:Ada', total: 12.5 };

  it('takes a webhook down to a subscriber’s version, and a queued message up to the newest', () => {
    expect(migratePayload(chain, newest, { route: 'EVENT order.created', from: '2025-03-01', to: '2024-01-10' })).toEqual(oldest);
    expect(migratePayload(chain, newest, { route: 'EVENT order.created', from: '2025-03-01', to: '2024-09-01' })).toEqual({ id: 'o1', customerId: 'c7', customerName: 'Ada', total: 12.5 });
    expect(migratePayload(chain, oldest, { route: 'EVENT order.created', from: '2024-01-10', to: '2025-03-01' })).toEqual(newest);
    // There and back again is the identity.
    const down = migratePayload(chain, newest, { route: 'EVENT order.created', from: '2025-03-01', to: '2024-01-10' });
    expect(migratePayload(chain, down, { route: 'EVENT order.created', from: '2024-01-10', to: '2025-03-01' })).toEqual(newest);
    expect(migratePayload(chain, newest, { route: 'EVENT order.created', from: '2025-03-01', to: '2025-03-01' })).toBe(newest);
  });

  it('applies only the changes that name the message, and refuses unknown versions', () => {
    expect(migratePayload(chain, { total: 1 }, { route: 'EVENT order.cancelled', from: '2024-01-10', to: '2025-03-01' })).toEqual({ total: 1 });
    expect(() => migratePayload(chain, {}, { route: 'EVENT order.created', from: '2023-01-01' as '2024-01-10', to: '2025-03-01' })).toThrow(/both must be supported versions/);
  });
});
