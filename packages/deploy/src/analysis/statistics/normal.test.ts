import { describe, expect, it } from 'vitest';
import { normalQuantile, normalUpperTail } from './normal.js';

function expectRelative(actual: number, expected: number, tolerance: number): void {
  if (expected === 0) expect(actual).toBe(0);
  else expect(Math.abs(actual - expected) / Math.abs(expected)).toBeLessThan(tolerance);
}

// References: mpmath 1.3.0 at 40 significant digits, erfc(z/√2)/2 (the arguments are the doubles written here).
const upperTails: ReadonlyArray<readonly [number, number]> = [
  [-5, 0.99999971334842812],
  [-1.96, 0.97500210485177956],
  [-1, 0.84134474606854295],
  [-0.5, 0.6914624612740131],
  [0, 0.5],
  [0.3, 0.38208857781104737],
  [0.66291, 0.25369409838973994],
  [0.7, 0.24196365222307303],
  [1, 0.15865525393145705],
  [1.5, 0.066807201268858066],
  [1.96, 0.024997895148220436],
  [2.5, 0.0062096653257761352],
  [3, 0.0013498980316300945],
  [4, 3.1671241833119921e-5],
  [5, 2.8665157187919391e-7],
  [5.656854248, 7.7086290171404708e-9],
  [6, 9.8658764503769814e-10],
  [8, 6.2209605742717841e-16],
  [10, 7.6198530241605261e-24],
  [15, 3.6709661993127509e-51],
  [20, 2.7536241186062337e-89],
  [30, 4.9067139271481871e-198],
  [37, 5.7255712225245768e-300],
];

describe('normalUpperTail', () => {
  it('matches high-precision references to 1e-14 relative, from the centre to z = 37', () => {
    for (const [z, expected] of upperTails) expectRelative(normalUpperTail(z), expected, 1e-14);
  });

  it('gives the textbook values', () => {
    expect(1 - normalUpperTail(-1.96)).toBeCloseTo(0.0249979, 7); // Φ(−1.96)
    expect(normalUpperTail(1.644853626951)).toBeCloseTo(0.05, 12);
  });

  it('is symmetric: P(Z ≥ z) + P(Z ≥ −z) = 1', () => {
    for (const z of [0.1, 0.6, 0.7, 1.3, 2.2, 4.4, 5.7, 7.1]) expect(normalUpperTail(z) + normalUpperTail(-z)).toBeCloseTo(1, 15);
  });

  it('is monotone across the boundaries between its approximations', () => {
    for (const edge of [0.66291, 5.656854248]) {
      const values = [-1e-9, 0, 1e-9].map((d) => normalUpperTail(edge + d));
      expect(values[0]).toBeGreaterThan(values[1] as number);
      expect(values[1]).toBeGreaterThan(values[2] as number);
    }
  });

  it('goes to 0 and 1 at the far ends (underflow, not NaN)', () => {
    expectRelative(normalUpperTail(38), 2.8854283600687843e-316, 1e-6); // subnormal: few digits left
    expect(normalUpperTail(39)).toBe(0);
    expect(normalUpperTail(Number.POSITIVE_INFINITY)).toBe(0);
    expect(normalUpperTail(-40)).toBe(1);
    expect(normalUpperTail(Number.NEGATIVE_INFINITY)).toBe(1);
  });

  it('rejects NaN', () => {
    expect(() => normalUpperTail(Number.NaN)).toThrow(expect.objectContaining({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringContaining('normalUpperTail') }));
  });
});

// References: mpmath 1.3.0 at 400 digits, −√2·erfinv(2p − 1) for the double p written here.
const quantiles: ReadonlyArray<readonly [number, number]> = [
  [1e-300, 37.047096299361199],
  [1e-100, 21.273453560965324],
  [1e-20, 9.2623400897984076],
  [1e-10, 6.3613409024040562],
  [1e-6, 4.753424308822899],
  [0.001, 3.0902323061678135],
  [0.01, 2.3263478740408411],
  [0.02425, 1.9729610513118848],
  [0.025, 1.9599639845400542],
  [0.05, 1.6448536269514727],
  [0.1, 1.2815515655446004],
  [0.3, 0.52440051270804082],
  [0.7, -0.52440051270804066],
  [0.9, -1.2815515655446006],
  [0.95, -1.6448536269514723],
  [0.975, -1.9599639845400539],
  [0.999, -3.0902323061678133],
  [1 - 1e-10, -6.3613408896974219],
];

describe('normalQuantile', () => {
  it('matches high-precision references to 1e-14 relative', () => {
    for (const [p, expected] of quantiles) expectRelative(normalQuantile(p), expected, 1e-14);
    expect(normalQuantile(0.5)).toBe(0);
  });

  it('inverts normalUpperTail', () => {
    for (const p of [1e-250, 1e-30, 1e-8, 0.003, 0.04, 0.2, 0.45, 0.55, 0.8, 0.99]) expectRelative(normalUpperTail(normalQuantile(p)), p, 1e-13);
  });

  it('is infinite at 0 and 1', () => {
    expect(normalQuantile(0)).toBe(Number.POSITIVE_INFINITY);
    expect(normalQuantile(1)).toBe(Number.NEGATIVE_INFINITY);
    expect(Number.isFinite(normalQuantile(Number.MIN_VALUE))).toBe(true);
  });

  it('rejects what is not a probability', () => {
    for (const p of [-0.1, 1.5, Number.NaN]) {
      expect(() => normalQuantile(p)).toThrow(expect.objectContaining({ code: 'BATON_ERR_INVALID_OPTION', message: expect.stringMatching(/^normalQuantile: p must be a probability between 0 and 1/) }));
    }
  });
});
