/**
 * What a deploy platform tells the instances it runs, through their
 * environment. Read by the runner (`serve()`, the signal handlers), never by
 * the library on its own: run by hand or on Kubernetes, none of it is set.
 */

/**
 * Set to `1` by a platform whose router takes an instance out of traffic, and
 * waits for the requests it sent there to finish, before the platform sends
 * SIGTERM (`baton deploy`'s local process platform does). The propagation
 * delay, time for a load balancer to notice failing readiness, then waits for
 * nothing, so a shutdown started by SIGTERM skips it.
 */
export const ROUTER_DRAINS_FIRST_ENV = 'BATON_ROUTER_DRAINS_FIRST';

/** Why the propagation delay was skipped, as the shutdown's log line and report say it. */
export const ROUTER_DRAINS_FIRST_REASON = `${ROUTER_DRAINS_FIRST_ENV}=1: the platform's router takes this instance out of traffic, and waits for its requests in flight, before SIGTERM`;

/** True when the platform running this process promises {@link ROUTER_DRAINS_FIRST_ENV}. */
export function routerDrainsFirst(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[ROUTER_DRAINS_FIRST_ENV] === '1';
}

/**
 * The interface a deploy platform asks its instance to listen on: `HOST`, but
 * only when `BATON_INSTANCE` (the platform's own marker) is set too — shells
 * (tcsh, zsh) set `HOST` to the machine's name, which is no interface to bind.
 * Listening there (`127.0.0.1` by default) keeps the instance unreachable but
 * through the router, its drain and its `/metrics` guard.
 */
export function platformHost(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const instance = env.BATON_INSTANCE;
  const host = env.HOST?.trim();
  if (instance === undefined || instance === '' || host === undefined || host === '') return undefined;
  return host;
}
