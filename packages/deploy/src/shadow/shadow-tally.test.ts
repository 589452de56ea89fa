import { describe, expect, it } from 'vitest';
import { compareAnswers, type ShadowAnswer } from './answer-diff.js';
import { createShadowTally } from './shadow-tally.js';

const json = (body: unknown, extra: Partial<ShadowAnswer> = {}): ShadowAnswer => ({
  status: 200,
  headers: { 'content-type': 'application/json; charset=utf-8' },
  body: new TextEncoder().encode(JSON.stringify(body)),
  latencyMs: 5,
  ...extra,
});
const rules = { headers: [], ignore: [] };

describe('compareAnswers', () => {
  it('finds two JSON answers equal whatever their key order, and names every changed field by path, its values described, not shown', () => {
    expect(compareAnswers(json({ a: 1, b: [1, 2] }), json({ b: [1, 2], a: 1 }), rules)).toEqual({ outcome: 'equal', differences: [] });
    const changed = compareAnswers(json({ id: 'o-1', total: 12.5, items: [{ sku: 'A', qty: 1 }], note: 'card 4111 1111' }), json({ id: 'o-1', total: '12.50', items: [{ sku: 'A', qty: 2 }, { sku: 'B', qty: 1 }] }), rules);
    expect(changed.outcome).toBe('different');
    expect(changed.differences).toEqual([
      { kind: 'body', path: '$.total', stable: 'number', candidate: 'string (5 chars)' },
      { kind: 'body', path: '$.items[0].qty', stable: 'number', candidate: 'number' },
      { kind: 'body', path: '$.items[1]', stable: 'missing', candidate: 'object (2 keys)' },
      { kind: 'body', path: '$.note', stable: 'string (14 chars)', candidate: 'missing' },
    ]);
    // Nothing of a value reaches the differences.
    expect(JSON.stringify(changed)).not.toMatch(/4111|12\.5/);
  });

  it('leaves out the fields the rules ignore: a key, any key or index (*), any depth (**)', () => {
    const stable = json({ release: 'v1', id: 'a', items: [{ id: 1, updatedAt: 'x' }], meta: { deep: { updatedAt: 't1' } } });
    const candidate = json({ release: 'v2', id: 'b', items: [{ id: 2, updatedAt: 'y' }], meta: { deep: { updatedAt: 't2' } } });
    expect(compareAnswers(stable, candidate, { headers: [], ignore: ['release', 'id', 'items.*.id', '**.updatedAt'] })).toEqual({ outcome: 'equal', differences: [] });
    expect(compareAnswers(stable, candidate, { headers: [], ignore: ['release', 'id', 'items.*.id'] }).differences.map((difference) => difference.path)).toEqual(['$.items[0].updatedAt', '$.meta.deep.updatedAt']);
  });

  it('compares the status, the headers asked for, non-JSON bodies byte for byte; a body over the limit is uncomparable; a failure is a difference', () => {
    expect(compareAnswers(json({}, { status: 200 }), json({}, { status: 404 }), rules).differences).toEqual([{ kind: 'status', path: 'status', stable: '200', candidate: '404' }]);
    const withHeader = (value: string): ShadowAnswer => json({}, { headers: { 'content-type': 'application/json', 'cache-control': value } });
    expect(compareAnswers(withHeader('max-age=60'), withHeader('no-store'), { headers: ['Cache-Control'], ignore: [] }).differences).toEqual([{ kind: 'header', path: 'cache-control', stable: 'string (10 chars)', candidate: 'string (8 chars)' }]);
    expect(compareAnswers(withHeader('max-age=60'), withHeader('no-store'), rules).outcome).toBe('equal');
    const text = (body: string): ShadowAnswer => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: new TextEncoder().encode(body), latencyMs: 1 });
    expect(compareAnswers(text('hello'), text('hello'), rules).outcome).toBe('equal');
    expect(compareAnswers(text('hello'), text('hullo!'), rules).differences).toEqual([{ kind: 'body', path: '$', stable: 'body (5 bytes)', candidate: 'body (6 bytes)' }]);
    expect(compareAnswers(json({}), json({}, { bodyTruncated: true }), rules).outcome).toBe('uncomparable');
    expect(compareAnswers(json({}), { status: 0, headers: {}, latencyMs: 30_000, failure: 'timeout' }, rules).differences).toEqual([{ kind: 'failure', path: 'answer', stable: 'status 200', candidate: 'timeout' }]);
  });
});

describe('createShadowTally', () => {
  const order = (id: number, release: string) => ({ id, release, total: 10, createdAt: `2026-12-0${(id % 9) + 1}` });

  it('passes a candidate identical but for the ignored fields, with each route counted', () => {
    const tally = createShadowTally({ compare: { ignore: { '*': ['release'], 'GET /orders/:id': ['createdAt'] } } });
    for (let id = 0; id < 30; id += 1) tally.record({ method: 'GET', route: '/orders/:id', stable: json(order(id, 'v1')), candidate: json({ ...order(id, 'v2'), createdAt: 'later' }) });
    const summary = tally.summary();
    expect(summary).toMatchObject({ outcome: 'pass', mirrored: 30, compared: 30 });
    expect(summary.routes).toEqual([expect.objectContaining({ route: 'GET /orders/:id', compared: 30, equal: 30, different: 0, candidateErrors: 0, differences: [] })]);
  });

  it('fails a candidate that changed a field of one route, naming the route and the field; the other route passes', () => {
    const tally = createShadowTally({ compare: { ignore: { '*': ['**.release', '**.createdAt'] } } });
    for (let id = 0; id < 30; id += 1) {
      tally.record({ method: 'GET', route: '/orders/:id', stable: json(order(id, 'v1')), candidate: json({ ...order(id, 'v2'), total: '10.00' }) });
      tally.record({ method: 'GET', route: '/orders', stable: json([order(id, 'v1')]), candidate: json([order(id, 'v2')]) });
    }
    const summary = tally.summary();
    expect(summary.outcome).toBe('fail');
    expect(summary.reasons[0]).toBe('GET /orders/:id: 30 of 30 answers differ: field $.total (number against string (5 chars)).');
    expect(summary.routes.map((route) => [route.route, route.different])).toEqual([
      ['GET /orders/:id', 30],
      ['GET /orders', 0],
    ]);
    expect(summary.routes[0]?.differences).toEqual([{ kind: 'body', path: '$.total', stable: 'number', candidate: 'string (5 chars)', count: 30 }]);
  });

  it('fails a candidate that errs or is slower beyond the limit; too few answers is inconclusive', () => {
    const errs = createShadowTally();
    for (let id = 0; id < 25; id += 1) errs.record({ method: 'GET', route: '/a', stable: json({}), candidate: id === 3 ? { status: 0, headers: {}, latencyMs: 0, failure: 'connection reset' } : json({}) });
    expect(errs.summary().reasons).toContain('GET /a: the candidate failed 1 of 25 mirrored requests.');
    const slow = createShadowTally();
    for (let id = 0; id < 25; id += 1) slow.record({ method: 'GET', route: '/a', stable: json({}, { latencyMs: 10 }), candidate: json({}, { latencyMs: 90 }) });
    expect(slow.summary()).toMatchObject({ outcome: 'fail', reasons: ['GET /a: median 90 ms against the stable release\'s 10 ms; the limit is 60 ms.'] });
    const few = createShadowTally();
    few.record({ method: 'GET', route: '/a', stable: json({}), candidate: json({}) });
    expect(few.summary()).toMatchObject({ outcome: 'inconclusive', reasons: ['1 answers compared, fewer than 20: the shadow step cannot judge the candidate.'] });
  });
});
