// Every code this package throws is documented: in its catalogue (or one it inherits) and its README.
import { describeErrorCodes } from '@baton/testing/error-codes';
import { ERROR_CODES } from '@baton/lifecycle';
import { METRICS_ERROR_CODES } from '@baton/metrics';
import { TOGGLES_ERROR_CODES } from '@baton/toggles';
import { VERSIONING_ERROR_CODES } from '@baton/versioning';

describeErrorCodes({
  packageName: '@baton/express',
  packageDir: new URL('..', import.meta.url),
  inherited: [ERROR_CODES, METRICS_ERROR_CODES, TOGGLES_ERROR_CODES, VERSIONING_ERROR_CODES].flatMap((catalogue) => Object.keys(catalogue)),
});
