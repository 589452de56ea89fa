import { describe, expect, it } from 'vitest';
import { holm } from './holm.js';

function expectClose(actual: readonly number[], expected: readonly number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((value, i) => expect(value).toBeCloseTo(expected[i] as number, 14));
}

describe('holm', () => {
  it('adjusts step-down and keeps the given order', () => {
    expectClose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02]);
  });

  it('applies the step-down multipliers m, m − 1, …, 1 with a running maximum', () => {
    // Sorted: 0.001·6, 0.012·5, 0.013·4 = 0.052 → raised to 0.06, 0.04·3, 0.2·2, 0.6·1
    // (the same as R's p.adjust(p, "holm"); checked with an independent numpy implementation).
    expectClose(holm([0.001, 0.2, 0.012, 0.04, 0.6, 0.013]), [0.006, 0.4, 0.06, 0.12, 0.6, 0.06]);
  });

  it('caps at 1 and is monotone in the raw p-values', () => {
    const raw = [0.5, 0.3, 0.9, 0.31];
    const adjusted = holm(raw);
    expectClose(adjusted, [1, 1, 1, 1]);
    const other = holm([0.02, 0.002, 0.2, 0.0200001, 0.6]);
    const byRaw = [1, 0, 3, 2, 4].map((i) => other[i] as number); // raw ascending: 0.002, 0.02, 0.0200001, 0.2, 0.6
    for (let i = 1; i < byRaw.length; i += 1) expect(byRaw[i]).toBeGreaterThanOrEqual(byRaw[i - 1] as number);
  });

  it('leaves one p-value alone, and gives nothing for nothing', () => {
    expect(holm([0.042])).toEqual([0.042]);
    expect(holm([])).toEqual([]);
  });

  it('gives tied p-values the same adjustment', () => {
    expectClose(holm([0.01, 0.01, 0.01]), [0.03, 0.03, 0.03]);
  });

  it('rejects what is not a p-value, naming it', () => {
    for (const bad of [-0.1, 1.01, Number.NaN]) {
      expect(() => holm([0.1, bad])).toThrow(expect.objectContaining({ code: 'BATON_ERR_INVALID_OPTION', message: `holm: every p-value must be between 0 and 1, got ${bad} at index 1` }));
    }
  });
});
