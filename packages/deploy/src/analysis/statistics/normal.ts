// Why hand-written: on npm, @stdlib's normal cdf / erfc are accurate but each
// pulls ~220 packages (16 MB: the native-addon machinery of every stdlib
// function) into @baton/deploy for two functions; simple-statistics has no
// dependencies, but its normal cdf is a 4-decimal table that stops at z = 3.09
// and its erf is accurate to ~1e-7, while a canary judge needs p-values far
// below that (Holm multiplies them by the number of routes). W. J. Cody's
// rational approximations are the standard answer, and are short.

import { BatonError } from '@baton/lifecycle';

// W. J. Cody, "Rational Chebyshev approximations for the error function",
// Math. Comp. 23 (1969) 631-637, in the form of his ANORM (ACM TOMS 715,
// SPECFUN, 1993): near-minimax rational functions good to ~18 digits.
const A = [2.2352520354606839287, 161.02823106855587881, 1067.6894854603709582, 18154.981253343561249, 0.065682337918207449113];
const B = [47.20258190468824187, 976.09855173777669322, 10260.932208618978205, 45507.789335026729956];
const C = [
  0.39894151208813466764, 8.8831497943883759412, 93.506656132177855979, 597.27027639480026226, 2494.5375852903726711,
  6848.1904505362823326, 11602.651437647350124, 9842.7148383839780218, 1.0765576773720192317e-8,
];
const D = [
  22.266688044328115691, 235.38790178262499861, 1519.377599407554805, 6485.558298266760755, 18615.571640885098091,
  34900.952721145977266, 38912.003286093271411, 19685.429676859990727,
];
const P = [0.21589853405795699, 0.1274011611602473639, 0.022235277870649807, 0.001421619193227893466, 2.9112874951168792e-5, 0.02307344176494017303];
const Q = [1.28426009614491121, 0.468238212480865118, 0.0659881378689285515, 0.00378239633202758244, 7.29751555083966205e-5];
const ONE_OVER_SQRT_2PI = 0.39894228040143267794;
const SQRT_2PI = 2.5066282746310005024;

function at(coefficients: readonly number[], i: number): number {
  return coefficients[i] as number;
}

/**
 * exp(−y²/2) without the rounding error of y² itself, which at y = 37 would
 * cost ~1e-13 relative: y is split into a part with few bits (y rounded down to
 * sixteenths, whose square is exact) and a small remainder, as ANORM does.
 */
function gaussianDensityFactor(y: number): number {
  const head = Math.trunc(y * 16) / 16;
  const rest = (y - head) * (y + head);
  return Math.exp(-head * head * 0.5) * Math.exp(-rest * 0.5);
}

/**
 * P(Z ≥ z) for a standard normal Z, to ~1e-15 relative over the whole range
 * (it underflows to 0 beyond z ≈ 38.5). Throws on NaN.
 *
 * @example
 * normalUpperTail(1.96); // 0.0249979
 */
export function normalUpperTail(z: number): number {
  if (Number.isNaN(z)) throw new BatonError('BATON_ERR_INVALID_OPTION', 'normalUpperTail: z must be a number, got NaN');
  const y = Math.abs(z);
  if (y <= 0.66291) {
    // Near 0 the answer is 0.5 ∓ something small: no cancellation worth fearing.
    const ysq = y * y;
    let num = at(A, 4) * ysq;
    let den = ysq;
    for (let i = 0; i < 3; i += 1) {
      num = (num + at(A, i)) * ysq;
      den = (den + at(B, i)) * ysq;
    }
    return 0.5 - (z * (num + at(A, 3))) / (den + at(B, 3));
  }
  let tail: number;
  if (y <= 5.656854248) {
    let num = at(C, 8) * y;
    let den = y;
    for (let i = 0; i < 7; i += 1) {
      num = (num + at(C, i)) * y;
      den = (den + at(D, i)) * y;
    }
    tail = ((num + at(C, 7)) / (den + at(D, 7))) * gaussianDensityFactor(y);
  } else if (y < 40) {
    const inverseSquare = 1 / (y * y);
    let num = at(P, 5) * inverseSquare;
    let den = inverseSquare;
    for (let i = 0; i < 4; i += 1) {
      num = (num + at(P, i)) * inverseSquare;
      den = (den + at(Q, i)) * inverseSquare;
    }
    const correction = (inverseSquare * (num + at(P, 4))) / (den + at(Q, 4));
    tail = ((ONE_OVER_SQRT_2PI - correction) / y) * gaussianDensityFactor(y);
  } else {
    tail = 0; // below the smallest double (and avoids Infinity · 0 at z = ±Infinity)
  }
  return z > 0 ? tail : 1 - tail;
}

// P. J. Acklam's rational approximation of the lower-tail normal quantile
// (relative error below 1.15e-9), refined below by one Halley step.
const ACKLAM_A = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
const ACKLAM_B = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
const ACKLAM_C = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const ACKLAM_D = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];

function horner(coefficients: readonly number[], x: number): number {
  let sum = 0;
  for (const c of coefficients) sum = sum * x + c;
  return sum;
}

/**
 * The z with P(Z ≥ z) = p for a standard normal Z (the upper-tail quantile:
 * `normalQuantile(0.025)` is 1.95996), to ~1e-15 relative (~1e-16 absolute
 * near p = 0.5, where z is near 0); +Infinity at p = 0, −Infinity at p = 1.
 * Throws unless 0 ≤ p ≤ 1.
 *
 * @example
 * const z = normalQuantile(1 - 0.95); // 1.64485: the one-sided 95% critical value
 */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `normalQuantile: p must be a probability between 0 and 1, got ${p}`);
  }
  // 1 − p is exact for p ≥ 0.5, so the symmetric answer loses nothing, and the work
  // below only ever meets the small tail probabilities it is accurate for.
  if (p > 0.5) return -normalQuantile(1 - p);
  if (p === 0) return Number.POSITIVE_INFINITY;
  // x: the lower-tail quantile, Φ(x) = p, x ≤ 0.
  let x: number;
  if (p < 0.02425) {
    const t = Math.sqrt(-2 * Math.log(p));
    x = horner(ACKLAM_C, t) / (horner(ACKLAM_D, t) * t + 1);
  } else {
    const t = p - 0.5;
    const r = t * t;
    x = (horner(ACKLAM_A, r) * t) / (horner(ACKLAM_B, r) * r + 1);
  }
  // One Halley step on Φ(x) − p; Φ(x) = P(Z ≥ −x) is computed in the tail, where it is accurate.
  const error = normalUpperTail(-x) - p;
  const u = error * SQRT_2PI * Math.exp((x * x) / 2);
  if (Number.isFinite(u)) x -= u / (1 + (x * u) / 2);
  return 0 - x; // not −x: p = 0.5 answers 0, not −0

}
