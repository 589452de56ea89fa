// Every code this package throws is documented: in its catalogue (or one it inherits) and its README.
import { describeErrorCodes } from '@baton/testing/error-codes';
import { DEPLOY_ERROR_CODES } from '@baton/deploy';
import { ERROR_CODES } from '@baton/lifecycle';

describeErrorCodes({
  packageName: '@baton/router-builtin',
  packageDir: new URL('..', import.meta.url),
  inherited: [ERROR_CODES, DEPLOY_ERROR_CODES].flatMap((catalogue) => Object.keys(catalogue)),
  mustThrow: ['BATON_ERR_ROUTER'],
});
