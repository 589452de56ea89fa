import { defineErrorCodes, type ErrorCodeOf } from '@baton/lifecycle';

/**
 * The codes `@baton/router-nginx` throws besides the lifecycle's
 * `BATON_ERR_INVALID_OPTION`. `BATON_ERR_ROUTER` is the Router contract's
 * code (`@baton/deploy`): every router rejects with it, so the orchestrator
 * handles them all alike; the nginx-specific ones say what nginx itself refused.
 */
export const NGINX_ROUTER_ERROR_CODES = defineErrorCodes({
  BATON_ERR_ROUTER: 'A Router call was refused (unknown backend, in flight, bad input) or the router cannot be reached.',
  BATON_ERR_NGINX_CONFIG: '`nginx -t` rejected a configuration Baton generated; the running nginx keeps the previous one.',
  BATON_ERR_NGINX_START: 'nginx is missing, too old, or did not start, reload or stop (its error log is in the message).',
});

/** A code of {@link NGINX_ROUTER_ERROR_CODES}. */
export type NginxRouterErrorCode = ErrorCodeOf<typeof NGINX_ROUTER_ERROR_CODES>;
