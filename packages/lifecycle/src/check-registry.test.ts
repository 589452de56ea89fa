import { describe, expect, it } from 'vitest';
import { CheckRegistry } from './check-registry.js';
import { isBatonError } from './errors.js';
import { delay, waitFor } from '@baton/testing';

describe('CheckRegistry', () => {
  it('reports pass, fail, warn and thrown errors with their output', async () => {
    const registry = new CheckRegistry();
    registry.add({ name: 'ok', check: () => undefined });
    registry.add({ name: 'false', check: () => false });
    registry.add({ name: 'warns', check: () => ({ status: 'warn', output: 'replica lag', observedValue: 12, observedUnit: 's' }) });
    registry.add({
      name: 'throws',
      check: async () => {
        throw new Error('connection refused');
      },
    });
    const results = Object.fromEntries((await registry.run('readiness')).map((r) => [r.name, r]));
    expect(results.ok?.status).toBe('pass');
    expect(results.false?.status).toBe('fail');
    expect(results.warns).toMatchObject({ status: 'warn', output: 'replica lag', observedValue: 12, observedUnit: 's' });
    expect(results.throws).toMatchObject({ status: 'fail', output: 'connection refused' });
    expect(Date.parse(results.ok?.time ?? '')).not.toBeNaN();
  });

  it('answers on time when a check hangs, aborts its signal, and does not pile up runs', async () => {
    const registry = new CheckRegistry();
    let started = 0;
    let aborted = false;
    registry.add({
      name: 'hangs',
      timeoutMs: 50,
      check: ({ signal }) => {
        started += 1;
        signal.addEventListener('abort', () => (aborted = true));
        return new Promise<void>(() => {}); // never settles
      },
    });
    const before = Date.now();
    const [result] = await registry.run('readiness');
    expect(Date.now() - before).toBeLessThan(2000);
    expect(result).toMatchObject({ status: 'fail', output: 'timed out after 50 ms' });
    expect(aborted).toBe(true);
    const [again] = await registry.run('readiness');
    expect(again?.status).toBe('fail');
    expect(again?.output).toMatch(/still running/);
    expect(started).toBe(1);
  });

  it('shares one run between concurrent probes', async () => {
    const registry = new CheckRegistry();
    let runs = 0;
    registry.add({
      name: 'db',
      check: async () => {
        runs += 1;
        await delay(30);
      },
    });
    await Promise.all([registry.run('readiness'), registry.run('readiness'), registry.run('readiness')]);
    expect(runs).toBe(1);
    await registry.run('readiness');
    expect(runs).toBe(2);
  });

  it('reuses a result within its cache TTL', async () => {
    let now = 1_000;
    const registry = new CheckRegistry({ now: () => now });
    let runs = 0;
    registry.add({ name: 'db', cacheTtlMs: 500, check: () => void (runs += 1) });
    await registry.run('readiness');
    now += 499;
    await registry.run('readiness');
    expect(runs).toBe(1);
    now += 2;
    await registry.run('readiness');
    expect(runs).toBe(2);
  });

  it('runs interval checks in the background and stops with stop()', async () => {
    const registry = new CheckRegistry();
    let runs = 0;
    registry.add({ name: 'bg', intervalMs: 20, check: () => void (runs += 1) });
    registry.start();
    // Waits for the fact (two background runs), not for a window a busy machine may not honour.
    await waitFor(() => runs >= 2, 10_000, 'two background runs');
    registry.stop();
    const seen = runs;
    await registry.run('readiness'); // reads the latest background result
    expect(runs).toBe(seen);
    // Nothing to wait for once stopped: give it several intervals to (wrongly) run again.
    await delay(100);
    expect(runs).toBe(seen);
  });

  it('runs only the checks registered for a probe', async () => {
    const registry = new CheckRegistry();
    registry.add({ name: 'deadlock', probes: ['liveness'], check: () => true });
    registry.add({ name: 'migrations', probes: ['startup'], check: () => true });
    registry.add({ name: 'db', probes: ['readiness', 'startup'], check: () => true });
    expect((await registry.run('liveness')).map((r) => r.name)).toEqual(['deadlock']);
    expect((await registry.run('startup')).map((r) => r.name)).toEqual(['migrations', 'db']);
    expect(registry.names('readiness')).toEqual(['db']);
  });

  it('rejects bad definitions with a clear error', () => {
    const registry = new CheckRegistry();
    registry.add({ name: 'db', check: () => true });
    const attempts: Array<[unknown, RegExp]> = [
      [{ name: 'db', check: () => true }, /already registered/],
      [{ name: '', check: () => true }, /non-empty string `name`/],
      [{ name: 'x', check: 'yes' }, /`check` must be a function/],
      [{ name: 'x', check: () => true, probes: ['ready'] }, /startup, liveness, readiness; got \["ready"\]/],
      [{ name: 'x', check: () => true, timeoutMs: 0 }, /`timeoutMs` must be a positive number/],
      [{ name: 'x', check: () => true, cacheTtlMs: -1 }, /`cacheTtlMs` must be zero or a positive/],
    ];
    for (const [definition, message] of attempts) {
      let thrown: unknown;
      try {
        registry.add(definition as never);
      } catch (error) {
        thrown = error;
      }
      expect(isBatonError(thrown)).toBe(true);
      expect((thrown as Error).message).toMatch(message);
    }
    expect(registry.names()).toEqual(['db']);
  });

  it('removes a check with the function add() returns', async () => {
    const registry = new CheckRegistry();
    const remove = registry.add({ name: 'db', check: () => false });
    remove();
    expect(await registry.run('readiness')).toEqual([]);
  });
});
