// The statistics of the canary judge. Internal to @baton/deploy: not exported from the package's index.
export { holm } from './holm.js';
export { normalQuantile, normalUpperTail } from './normal.js';
export { errorRateIncrease, type Counts, type ProportionTest } from './proportions.js';
