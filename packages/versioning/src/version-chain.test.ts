import { describe, expect, it } from 'vitest';
import { isBatonError } from '@baton/lifecycle';
import { versionChange } from './version-change.js';
import { createVersionChain } from './version-chain.js';
import { defineVersions } from './versions.js';

// The shapes an order had over time; the code only knows the newest.
interface OrderV1 { id: string; customer: string; total: number }
interface OrderV2 { id: string; customerId: string; customerName: string; total: number }
interface OrderV3 { id: string; customerId: string; customerName: string; totalCents: number }

const versions = defineVersions({ versions: ['2024-01-10', '2024-09-01', '2025-03-01', '2025-06-01'] });

const splitCustomer = versionChange<OrderV1, OrderV2, { customer: string }, { customerId: string; customerName: string }>({
  version: '2024-09-01',
  description: '`customer` is split into `customerId` and `customerName`.',
  routes: ['GET /orders/:id', 'POST /orders'],
  request: {
    upgrade: ({ customer, ...rest }) => {
      const [customerId = '', customerName = ''] = customer.split(':');
      return { ...rest, customerId, customerName };
    },
  },
  response: { downgrade: ({ customerId, customerName, ...rest }) => ({ ...rest, customer: `${customerId}:${customerName}` }) },
});
const centsTotals = versionChange<OrderV2, OrderV3>({
  version: '2025-03-01',
  description: '`total` (a decimal) becomes `totalCents` (an integer).',
  routes: ['GET /orders/:id', 'POST /orders'],
  response: { downgrade: ({ totalCents, ...rest }) => ({ ...rest, total: totalCents / 100 }) },
  error: { downgrade: (body) => ({ ...(body as object), legacy: true }) },
});
const refunds = versionChange({
  version: '2025-06-01',
  description: 'Refunds: `POST /orders/:id/refund` is new; `POST /orders/:id/void` is gone.',
  routes: ['POST /orders/:id/refund'],
  routesAdded: ['POST /orders/:id/refund'],
  routesRemoved: ['POST /orders/:id/void'],
});

const chain = createVersionChain(versions, [refunds, centsTotals, splitCustomer]);
const latest: OrderV3 = { id: 'o1', customerId: 'c7', customerName: 'Ada', totalCents: 1250 };

describe('createVersionChain', () => {
  it('orders the changes oldest first, whatever order they were given in', () => {
    expect(chain.changes.map((change) => change.version)).toEqual(['2024-09-01', '2025-03-01', '2025-06-01']);
  });

  it('brings a response down to each client’s version through every change after it, newest first', () => {
    expect(chain.downgradeResponse('GET /orders/:id', '2025-03-01', 200, latest)).toBe(latest);
    expect(chain.downgradeResponse('GET /orders/:id', '2024-09-01', 200, latest)).toEqual({ id: 'o1', customerId: 'c7', customerName: 'Ada', total: 12.5 });
    expect(chain.downgradeResponse('GET /orders/:id', '2024-01-10', 200, latest)).toEqual({ id: 'o1', customer: 'c7:Ada', total: 12.5 });
    // Routes a change does not name are left alone.
    expect(chain.downgradeResponse('GET /orders', '2024-01-10', 200, { orders: [] })).toEqual({ orders: [] });
  });

  it('does no work on the latest version', () => {
    const body = { any: 'thing' };
    expect(chain.touches('GET /orders/:id', '2025-06-01')).toBe(false);
    expect(chain.downgradeResponse('GET /orders/:id', '2025-06-01', 200, body)).toBe(body);
    expect(chain.upgradeRequest('POST /orders', '2025-06-01', body)).toBe(body);
    expect(chain.touches('GET /orders/:id', '2024-01-10')).toBe(true);
    expect(chain.touches('GET /orders', '2024-01-10')).toBe(false);
  });

  it('brings an old client’s request up to the newest shape', () => {
    expect(chain.upgradeRequest('POST /orders', '2024-01-10', { customer: 'c7:Ada', items: [] })).toEqual({ customerId: 'c7', customerName: 'Ada', items: [] });
    expect(chain.upgradeRequest('POST /orders', '2024-09-01', { customerId: 'c7', customerName: 'Ada' })).toEqual({ customerId: 'c7', customerName: 'Ada' });
  });

  it('uses error transforms for error bodies only', () => {
    const problem = { type: 'urn:x', status: 404 };
    expect(chain.downgradeResponse('GET /orders/:id', '2024-01-10', 404, problem)).toEqual({ type: 'urn:x', status: 404, legacy: true });
  });

  it('knows which routes exist on which version', () => {
    expect(chain.routeExists('POST /orders/:id/refund', '2025-06-01')).toBe(true);
    expect(chain.routeExists('POST /orders/:id/refund', '2025-03-01')).toBe(false);
    expect(chain.routeExists('POST /orders/:id/void', '2025-03-01')).toBe(true);
    expect(chain.routeExists('POST /orders/:id/void', '2025-06-01')).toBe(false);
    expect(chain.routeExists('GET /orders', '2024-01-10')).toBe(true);
  });

  it('names the change and the route when a transform throws', () => {
    const broken = createVersionChain(versions, [
      versionChange<unknown, { total: number }>({ version: '2025-03-01', description: 'Broken on purpose', routes: ['*'], response: { downgrade: () => { throw new Error('boom'); } } }),
    ]);
    let thrown: unknown;
    try {
      broken.downgradeResponse('GET /x', '2024-01-10', 200, { total: 1 });
    } catch (error) {
      thrown = error;
    }
    expect(isBatonError(thrown, 'BATON_ERR_VERSION_TRANSFORM')).toBe(true);
    expect((thrown as Error).message).toBe('versioning: the response downgrade of the change "Broken on purpose" (2025-03-01) threw on GET /x: boom');
  });

  it('checks the changes at construction', () => {
    const base = { description: 'x', routes: ['GET /a'] };
    const bad: [object, RegExp][] = [
      [{ ...base, version: '2023-01-01' }, /`version` "2023-01-01" is not a supported version/],
      [{ ...base, version: '2024-01-10' }, /is the oldest version \(2024-01-10\); a change needs a version before it/],
      [{ ...base, version: '2025-03-01', description: ' ' }, /`description` must say what changed/],
      [{ ...base, version: '2025-03-01', routes: [] }, /`routes` must list the routes it changes/],
      [{ ...base, version: '2025-03-01', routes: ['/orders'] }, /route "\/orders" must be "METHOD \/template"/],
      [{ ...base, version: '2025-03-01', response: { downgrade: 'x' } }, /`response.downgrade` must be a function/],
    ];
    for (const [change, message] of bad) expect(() => createVersionChain(versions, [change as never]), String(message)).toThrow(message);
  });

  it('types transforms by the shapes on each side', () => {
    versionChange<OrderV1, OrderV2>({
      version: '2024-09-01',
      description: 'typed',
      routes: ['*'],
      // @ts-expect-error: the old shape has `customer`, not `customerId`
      response: { downgrade: ({ customerId, total }) => ({ id: 'x', customerId, total }) },
    });
  });
});
