import { describe, isObject } from '../internal/config-values.js';

/**
 * Environments in a deploy config: `environments: { staging: {...},
 * production: {...} }`, each a partial deploy config over the service's
 * defaults, and `pipeline`, the order a release goes through them.
 * `resolveDeployConfig` uses these to resolve one environment's config.
 */

/** What an environment may set over the service's defaults. */
export const ENVIRONMENT_KEYS = ['instances', 'strategy', 'router', 'analysis', 'timeouts', 'paths', 'platform', 'metricsToken', 'release', 'gates', 'kubernetes'] as const;

/** An environment's release may differ only in what the environment gives it: its variables (a database URL) and which of them are secret. The artifact and how it is run are the release's own. */
export const ENVIRONMENT_RELEASE_KEYS = ['env', 'secretEnv'] as const;

/** An environment's name: it names a directory and a command-line value. */
export const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/** The environments a config declares and the order of its pipeline. */
export interface EnvironmentsInput {
  /** Each environment's own settings, by name, in declaration order. */
  environments: Map<string, Record<string, unknown>>;
  /** The pipeline, first to last: the order `baton promote` takes a release through. */
  pipeline: string[];
}

/**
 * Reads `environments` and `pipeline` from a config (problems are added to
 * `problems`, each naming its field). `pipeline` defaults to every
 * environment in the order declared; an environment left out of an explicit
 * pipeline stands alone (deployed to directly, never promoted to).
 */
export function readEnvironments(input: Record<string, unknown>, problems: string[]): EnvironmentsInput {
  const environments = new Map<string, Record<string, unknown>>();
  const declared = input['environments'];
  if (!isObject(declared) || Object.keys(declared).length === 0) {
    problems.push(`environments: an object of environments by name, e.g. { staging: { instances: 1 }, production: { instances: 3 } }; got ${describe(declared)}`);
    return { environments, pipeline: [] };
  }
  for (const [name, settings] of Object.entries(declared)) {
    if (!ENVIRONMENT_NAME.test(name)) {
      problems.push(`environments.${name}: an environment's name is lower-case letters, digits and "-", starting with a letter (at most 32), e.g. "staging"`);
      continue;
    }
    if (settings !== undefined && !isObject(settings)) {
      problems.push(`environments.${name}: an object of settings over the service's (${ENVIRONMENT_KEYS.join(', ')}); got ${describe(settings)}`);
      continue;
    }
    const own = settings ?? {};
    for (const key of Object.keys(own)) {
      if (!(ENVIRONMENT_KEYS as readonly string[]).includes(key)) {
        const why = key === 'service' || key === 'stateDir' ? ' (it is the service\'s, the same in every environment)' : '';
        problems.push(`environments.${name}.${key}: not an environment setting${why}; known: ${ENVIRONMENT_KEYS.join(', ')}`);
      }
    }
    const release = own['release'];
    if (release !== undefined) {
      if (!isObject(release)) problems.push(`environments.${name}.release: an object { env?, secretEnv? }; got ${describe(release)}`);
      else {
        for (const key of Object.keys(release)) {
          if (!(ENVIRONMENT_RELEASE_KEYS as readonly string[]).includes(key)) {
            problems.push(`environments.${name}.release.${key}: an environment gives a release only its variables (env, secretEnv); the artifact and how it runs are the release's own, the same in every environment`);
          }
        }
      }
    }
    // Only what an environment may set goes into its merge: the rest is reported above, once.
    environments.set(name, Object.fromEntries(Object.entries(own).filter(([key]) => (ENVIRONMENT_KEYS as readonly string[]).includes(key))));
  }
  const names = [...environments.keys()];
  const given = input['pipeline'];
  let pipeline = names;
  if (given !== undefined) {
    if (!Array.isArray(given) || given.length === 0 || !given.every((entry) => typeof entry === 'string')) {
      problems.push(`pipeline: the environments a release goes through, first to last, e.g. ['staging', 'production']; got ${describe(given)}`);
    } else {
      const unknown = given.filter((entry) => !environments.has(entry));
      const repeated = given.filter((entry, index) => given.indexOf(entry) !== index);
      if (unknown.length > 0) problems.push(`pipeline: ${unknown.map((entry) => describe(entry)).join(', ')} ${unknown.length === 1 ? 'is not an environment' : 'are not environments'}; the config declares ${names.join(', ')}`);
      if (repeated.length > 0) problems.push(`pipeline: each environment once; ${[...new Set(repeated)].join(', ')} repeated`);
      pipeline = given as string[];
    }
  }
  return { environments, pipeline };
}

/**
 * The deploy config of one environment: the service's settings with the
 * environment's over them. Sections merge key by key (`router.port` of
 * production keeps the service's `router.kind`), `router.limits` and
 * `router.expose` one level deeper; a strategy is replaced whole; a platform
 * of another kind replaces the service's (its settings belong to its kind);
 * the release's `env` merges variable by variable and `secretEnv` adds up;
 * `gates` merge gate by gate (`soak: false` turns one off).
 */
export function mergeEnvironment(base: Record<string, unknown>, own: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  delete merged['environments'];
  delete merged['pipeline'];
  for (const [key, value] of Object.entries(own)) {
    if (value === undefined) continue;
    const inherited = base[key];
    switch (key) {
      case 'router':
        merged[key] = isObject(inherited) && isObject(value) ? { ...inherited, ...value, ...deeper(inherited, value, ['limits', 'expose']) } : value;
        break;
      case 'analysis':
      case 'timeouts':
      case 'paths':
      case 'gates':
      case 'kubernetes':
        merged[key] = isObject(inherited) && isObject(value) ? { ...inherited, ...value } : value;
        break;
      case 'platform': {
        const sameKind = isObject(inherited) && isObject(value) && (value['kind'] === undefined || value['kind'] === (inherited['kind'] ?? 'local'));
        merged[key] = sameKind ? { ...(inherited as Record<string, unknown>), ...value } : value;
        break;
      }
      case 'release': {
        if (!isObject(inherited) || !isObject(value)) break;
        const release: Record<string, unknown> = { ...inherited };
        if (value['env'] !== undefined) release['env'] = isObject(inherited['env']) && isObject(value['env']) ? { ...inherited['env'], ...value['env'] } : value['env'];
        if (value['secretEnv'] !== undefined) {
          release['secretEnv'] = Array.isArray(inherited['secretEnv']) && Array.isArray(value['secretEnv']) ? [...new Set([...inherited['secretEnv'], ...value['secretEnv']])] : value['secretEnv'];
        }
        merged[key] = release;
        break;
      }
      default:
        merged[key] = value;
    }
  }
  return merged;
}

function deeper(inherited: Record<string, unknown>, value: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const a = inherited[key];
    const b = value[key];
    if (isObject(a) && isObject(b)) out[key] = { ...a, ...b };
  }
  return out;
}
