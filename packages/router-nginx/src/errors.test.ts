// Every code this package throws is documented: in its catalogue (or one it inherits) and its README.
import { describeErrorCodes } from '@baton/testing/error-codes';
import { DEPLOY_ERROR_CODES } from '@baton/deploy';
import { ERROR_CODES } from '@baton/lifecycle';
import { NGINX_ROUTER_ERROR_CODES } from './errors.js';

describeErrorCodes({
  packageName: '@baton/router-nginx',
  packageDir: new URL('..', import.meta.url),
  own: Object.keys(NGINX_ROUTER_ERROR_CODES),
  inherited: [ERROR_CODES, DEPLOY_ERROR_CODES].flatMap((catalogue) => Object.keys(catalogue)),
  mustThrow: ['BATON_ERR_ROUTER', 'BATON_ERR_NGINX_CONFIG', 'BATON_ERR_NGINX_START', 'BATON_ERR_INVALID_OPTION'],
});
