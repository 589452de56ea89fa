import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createNegotiator, versionFromAccept, type NegotiableRequest } from './negotiation.js';
import { defineVersions } from './versions.js';

const versions = defineVersions({ versions: ['2024-01-10', '2024-09-01', '2025-03-01'] });
const request = (headers: Record<string, string> = {}, url = '/orders'): NegotiableRequest => ({ headers, url });

describe('createNegotiator', () => {
  it('takes the version from the Api-Version header by default, and the default when none is named', () => {
    const negotiate = createNegotiator(versions);
    expect(negotiate(request({ 'api-version': '2024-09-01' }))).toEqual({ ok: true, version: '2024-09-01', source: 'header', requested: '2024-09-01', vary: ['Api-Version'] });
    expect(negotiate(request({ 'api-version': '2024-10-15' }))).toMatchObject({ ok: true, version: '2024-09-01', requested: '2024-10-15' });
    expect(negotiate(request())).toEqual({ ok: true, version: '2024-01-10', source: 'default', vary: ['Api-Version'] });
  });

  it('asks header, Accept, query and pin in the configured order; the first present decides', () => {
    type Keyed = NegotiableRequest & { apiKey?: string };
    const pins: Record<string, string> = { 'key-old': '2024-01-10' };
    const negotiate = createNegotiator<typeof versions.latest, Keyed>(versions, {
      vendor: 'orders',
      query: 'api_version',
      pin: { version: (r) => (r.apiKey === undefined ? undefined : pins[r.apiKey]), varyOn: 'Authorization' },
    });
    const accept = 'application/json;q=0.5, application/vnd.orders+json; version=2025-03-01';
    expect(negotiate({ headers: { accept } })).toMatchObject({ version: '2025-03-01', source: 'accept', vary: ['Api-Version', 'Accept'] });
    expect(negotiate({ headers: { accept, 'api-version': '2024-09-01' } })).toMatchObject({ version: '2024-09-01', source: 'header', vary: ['Api-Version'] });
    expect(negotiate({ headers: {}, url: '/orders?api_version=2024-09-01' })).toMatchObject({ version: '2024-09-01', source: 'query' });
    expect(negotiate({ headers: {}, url: '/orders', apiKey: 'key-old' })).toMatchObject({ version: '2024-01-10', source: 'pin', vary: ['Api-Version', 'Accept', 'Authorization'] });
    expect(negotiate({ headers: {}, url: '/orders', apiKey: 'key-new' })).toMatchObject({ version: '2024-01-10', source: 'default' });
    const pinFirst = createNegotiator<typeof versions.latest, Keyed>(versions, { order: ['pin', 'header'], pin: { version: () => '2025-03-01' } });
    expect(pinFirst({ headers: { 'api-version': '2024-01-10' } })).toMatchObject({ version: '2025-03-01', source: 'pin' });
  });

  it('refuses a bad version with an RFC 9457 problem listing the supported ones: 400, or 406 through Accept', () => {
    const negotiate = createNegotiator(versions, { vendor: 'orders' });
    expect(negotiate(request({ 'api-version': '2023-01-01' }))).toEqual({
      ok: false,
      status: 400,
      problem: {
        type: 'urn:baton:problem:unsupported-api-version',
        title: 'Unsupported API version',
        status: 400,
        detail: 'Version 2023-01-01 is older than the oldest supported version, 2024-01-10. Supported versions: 2024-01-10, 2024-09-01, 2025-03-01.',
        supported: ['2024-01-10', '2024-09-01', '2025-03-01'],
        requested: '2023-01-01',
      },
      vary: ['Api-Version'],
    });
    // Present but empty is an error too, never a silent default.
    expect(negotiate(request({ 'api-version': '' }))).toMatchObject({ ok: false, status: 400, problem: { type: 'urn:baton:problem:malformed-api-version' } });
    expect(negotiate(request({ accept: 'application/vnd.orders+json; version=soon' }))).toMatchObject({ ok: false, status: 406, problem: { status: 406, requested: 'soon' } });
    expect(negotiate(request({ accept: 'application/vnd.orders+json; version' }))).toMatchObject({ ok: false, status: 406 });
  });

  it('refuses bad options at construction', () => {
    expect(() => createNegotiator(versions, { header: 'api version' })).toThrow(/`header` must be a header name/);
    expect(() => createNegotiator(versions, { vendor: 'vnd/orders' })).toThrow(/`vendor` must be a media-type name/);
    expect(() => createNegotiator(versions, { order: ['header', 'header'] })).toThrow(/each once/);
    expect(() => createNegotiator(versions, { order: ['cookie' as 'header'] })).toThrow(/sources among header, accept, query, pin/);
    expect(() => createNegotiator(versions, { pin: { version: 'x' as never } })).toThrow(/`pin.version` must be a function/);
  });

  it('never throws and never answers other than a version, 400 or 406, whatever the client sends (property-based)', () => {
    const negotiate = createNegotiator(versions, { vendor: 'orders', query: 'v' });
    const versionish = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom(...versions.list),
      fc.date({ min: new Date('1990-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((date) => date.toISOString().slice(0, 10)),
    );
    const accept = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.tuple(versionish, fc.constantFrom('', ';q=0.5', ';q=x', ';q=0', '; charset=utf-8')).map(([version, tail]) => `text/html, application/vnd.orders+json; version=${version}${tail}`),
    );
    fc.assert(
      fc.property(fc.option(versionish), fc.option(accept), fc.option(fc.string({ maxLength: 60 })), (header, acceptHeader, query) => {
        const headers: Record<string, string> = {};
        if (header !== null) headers['api-version'] = header;
        if (acceptHeader !== null) headers.accept = acceptHeader;
        const outcome = negotiate({ headers, url: query === null ? '/' : `/?v=${encodeURIComponent(query)}` });
        if (outcome.ok) {
          expect(versions.has(outcome.version)).toBe(true);
        } else {
          expect([400, 406]).toContain(outcome.status);
          expect(outcome.problem.status).toBe(outcome.status);
          expect(outcome.problem.supported).toEqual(versions.list);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('versionFromAccept', () => {
  it('reads the version of the best-weighted range of the vendor type', () => {
    const type = 'application/vnd.orders+json';
    expect(versionFromAccept('application/vnd.orders+json; version="2024-09-01"', type)).toBe('2024-09-01');
    expect(versionFromAccept('application/vnd.orders+json; version=2024-01-10; q=0.2, application/vnd.orders+json; version=2025-03-01; q=0.9', type)).toBe('2025-03-01');
    expect(versionFromAccept('Application/VND.Orders+JSON;Version=2024-09-01', type)).toBe('2024-09-01');
    expect(versionFromAccept('application/json', type)).toBeUndefined();
    expect(versionFromAccept('application/vnd.orders+json', type)).toBeUndefined();
    expect(versionFromAccept('application/vnd.orders+json; version=2024-09-01; q=0', type)).toBeUndefined();
    expect(versionFromAccept('application/vnd.orders+json; version=2024-09-01; q=2', type)).toBe('malformed');
    expect(versionFromAccept(`${'a/b,'.repeat(40)}`, type)).toBe('malformed');
  });
});
