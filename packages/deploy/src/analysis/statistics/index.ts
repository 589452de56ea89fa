// The statistics of the canary judge. Internal to @baton/deploy: not exported from the package's index.
export { holm } from './holm.js';
export { normalQuantile, normalUpperTail } from './normal.js';
export { errorRateIncrease, type Counts, type ProportionTest } from './proportions.js';
export { quantileInterval, type QuantileInterval } from './quantile-interval.js';
export { latencyShift, type RankTest } from './rank-test.js';
