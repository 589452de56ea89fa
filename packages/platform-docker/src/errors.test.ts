// Every code this package throws is documented: in a catalogue it inherits and in its README.
import { describeErrorCodes } from '@baton/testing/error-codes';
import { DEPLOY_ERROR_CODES } from '@baton/deploy';
import { ERROR_CODES } from '@baton/lifecycle';

describeErrorCodes({
  packageName: '@baton/platform-docker',
  packageDir: new URL('..', import.meta.url),
  inherited: [ERROR_CODES, DEPLOY_ERROR_CODES].flatMap((catalogue) => Object.keys(catalogue)),
  mustThrow: ['BATON_ERR_PLATFORM', 'BATON_ERR_DEPLOY_CONFIG'],
});
