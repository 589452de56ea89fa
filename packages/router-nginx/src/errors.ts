import { defineErrorCodes, type ErrorCodeOf } from '@baton/lifecycle';

/**
 * The codes `@baton/router-nginx` owns: what nginx itself refused. It also
 * throws `BATON_ERR_ROUTER`, the Router contract's code (`DEPLOY_ERROR_CODES`
 * of `@baton/deploy`), so the orchestrator handles every router alike, and
 * the lifecycle's `BATON_ERR_INVALID_OPTION`.
 */
export const NGINX_ROUTER_ERROR_CODES = defineErrorCodes({
  BATON_ERR_NGINX_CONFIG: '`nginx -t` rejected a configuration Baton generated; the running nginx keeps the previous one.',
  BATON_ERR_NGINX_START: 'nginx is missing, too old, or did not start, reload or stop (its error log is in the message).',
});

/** A code of {@link NGINX_ROUTER_ERROR_CODES}. */
export type NginxRouterErrorCode = ErrorCodeOf<typeof NGINX_ROUTER_ERROR_CODES>;
