import { defineErrorCodes, type ErrorCodeOf } from '@baton/lifecycle';

/**
 * The codes `@baton/metrics` throws besides the lifecycle's own
 * (`BATON_ERR_INVALID_OPTION`, `BATON_ERR_INVALID_STATE`).
 */
export const METRICS_ERROR_CODES = defineErrorCodes({
  /** Text that should be in the Prometheus exposition format is not (a line says where). */
  BATON_ERR_METRICS_PARSE: 'The text is not in the Prometheus exposition format.',
  /** A metrics endpoint could not be scraped (refused, timed out, non-200, wrong token). */
  BATON_ERR_SCRAPE_FAILED: 'A metrics endpoint could not be scraped.',
});

/** A code of {@link METRICS_ERROR_CODES}. */
export type MetricsErrorCode = ErrorCodeOf<typeof METRICS_ERROR_CODES>;
