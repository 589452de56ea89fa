// Every code this package throws is documented: in its catalogue (or one it inherits) and its README.
import { describeErrorCodes } from '@baton/testing/error-codes';
import { ERROR_CODES } from '@baton/lifecycle';
import { TOGGLES_ERROR_CODES } from './errors.js';

describeErrorCodes({
  packageName: '@baton/toggles',
  packageDir: new URL('..', import.meta.url),
  own: Object.keys(TOGGLES_ERROR_CODES),
  inherited: Object.keys(ERROR_CODES),
});
