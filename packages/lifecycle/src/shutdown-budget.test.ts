import { describe, expect, it } from 'vitest';
import { isBatonError } from './errors.js';
import { createLifecycle } from './lifecycle.js';
import { resolveShutdownBudget, totalMs } from './shutdown-budget.js';

describe('shutdown budget', () => {
  it('defaults fit the Kubernetes default grace period of 30 s', () => {
    const budget = resolveShutdownBudget();
    expect(budget.gracePeriodMs).toBe(30_000);
    expect(totalMs(budget) + budget.safetyMarginMs).toBeLessThanOrEqual(30_000);
  });

  it('refuses, at construction, phases that do not fit the grace period, and says by how much', () => {
    let thrown: unknown;
    try {
      createLifecycle({ shutdown: { propagationDelayMs: 10_000, drainTimeoutMs: 20_000, gracePeriodMs: 30_000 } });
    } catch (error) {
      thrown = error;
    }
    expect(isBatonError(thrown, 'BATON_ERR_BUDGET_EXCEEDS_GRACE')).toBe(true);
    expect((thrown as Error).message).toContain('need 35000 ms (propagation 10000 + drain 20000 + hooks 5000)');
    expect((thrown as Error).message).toContain('grace period is 30000 ms');
  });

  it('rejects values that are not durations', () => {
    for (const bad of [{ drainTimeoutMs: -1 }, { propagationDelayMs: Number.NaN }, { gracePeriodMs: '30s' }]) {
      expect(() => resolveShutdownBudget(bad as never)).toThrow(/milliseconds/);
    }
  });
});
