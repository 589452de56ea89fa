import { BatonError } from '@baton/lifecycle';

/** The registry's own defaults: no file, no server (tests, local development, a service that has no toggles server yet). */
export interface DefaultsSource {
  type: 'defaults';
}

/** A local toggle file ({@link parseToggleFile}'s two shapes), read at start and watched for changes. */
export interface FileSource {
  type: 'file';
  path: string;
  /** Reload when the file changes (a save, a rename over it, a Kubernetes ConfigMap swap). Default true. */
  watch?: boolean;
}

/** An Unleash server, polled by a dedicated `Unleash` instance (never the process-wide singleton). */
export interface UnleashSource {
  type: 'unleash';
  /** The API base, e.g. `https://unleash.example.com/api`. */
  url: string;
  /** A backend (client) token, e.g. `*:production.<secret>`; its environment names the snapshot when `environment` is not given. */
  token: string;
  /** The app name Unleash shows; default the service name of the bound lifecycle, else `baton-service`. */
  appName?: string;
  /** The environment, for the snapshot's name; default the token's (`*:production.x` → `production`), else `default`. */
  environment?: string;
  /** Only this project's toggles. */
  projectName?: string;
  /** How often to poll, in ms. Default 15000 (unleash-client's default). */
  refreshIntervalMs?: number;
  /** How long one poll may take, in ms. Default 10000. */
  timeoutMs?: number;
  /** A toggle file served until the first sync (either shape of {@link parseToggleFile}). */
  bootstrap?: string;
  /** Where the last-known-good snapshot is kept; `false` for none. Default `<os tmpdir>/baton-toggles`. */
  snapshotDir?: string | false;
  /** Send usage counts to the Unleash server (its "seen" and metrics views). Default true. */
  sendUsage?: boolean;
}

/** Where toggle values come from. Plain data, so configuration alone moves a service from a file to a server. */
export type ToggleSource = DefaultsSource | FileSource | UnleashSource;

/**
 * Picks the source from environment variables, so moving a service from a
 * file to an Unleash server is a configuration change only:
 *
 * - `UNLEASH_URL` and `UNLEASH_API_TOKEN` (plus optional `UNLEASH_APP_NAME`,
 *   `UNLEASH_ENVIRONMENT`, `UNLEASH_PROJECT`, `UNLEASH_REFRESH_INTERVAL_MS`,
 *   `BATON_TOGGLES_SNAPSHOT_DIR`): the server; `BATON_TOGGLES_FILE`, if also
 *   set, becomes its bootstrap;
 * - else `BATON_TOGGLES_FILE`: that file, watched;
 * - else the registry's defaults.
 */
export function toggleSourceFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): ToggleSource {
  const url = nonEmpty(env.UNLEASH_URL);
  const token = nonEmpty(env.UNLEASH_API_TOKEN);
  const file = nonEmpty(env.BATON_TOGGLES_FILE);
  if (url === undefined) {
    if (token !== undefined) throw new BatonError('BATON_ERR_INVALID_OPTION', 'toggles: UNLEASH_API_TOKEN is set but UNLEASH_URL is not; set both, or neither to use BATON_TOGGLES_FILE or the registry defaults.');
    return file === undefined ? { type: 'defaults' } : { type: 'file', path: file };
  }
  if (token === undefined) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `toggles: UNLEASH_URL is ${url} but UNLEASH_API_TOKEN is not set; give a backend token such as "*:production.<secret>".`);
  }
  const source: UnleashSource = { type: 'unleash', url, token };
  const appName = nonEmpty(env.UNLEASH_APP_NAME);
  const environment = nonEmpty(env.UNLEASH_ENVIRONMENT);
  const projectName = nonEmpty(env.UNLEASH_PROJECT);
  const interval = nonEmpty(env.UNLEASH_REFRESH_INTERVAL_MS);
  const snapshotDir = nonEmpty(env.BATON_TOGGLES_SNAPSHOT_DIR);
  if (appName !== undefined) source.appName = appName;
  if (environment !== undefined) source.environment = environment;
  if (projectName !== undefined) source.projectName = projectName;
  if (interval !== undefined) {
    const ms = Number(interval);
    if (!Number.isInteger(ms) || ms < 100) throw new BatonError('BATON_ERR_INVALID_OPTION', `toggles: UNLEASH_REFRESH_INTERVAL_MS must be a whole number of ms, at least 100; got ${JSON.stringify(interval)}.`);
    source.refreshIntervalMs = ms;
  }
  if (snapshotDir !== undefined) source.snapshotDir = snapshotDir === 'off' ? false : snapshotDir;
  if (file !== undefined) source.bootstrap = file;
  return source;
}

/** The environment a backend token is for: `*:production.abc` → `production`; `undefined` when the token has another shape. */
export function environmentOfToken(token: string): string | undefined {
  const match = /^[^:]+:([^.]+)\./.exec(token);
  return match?.[1];
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
