import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatonError } from '@baton/lifecycle';

/** Config files looked for, in order, when `--config` is not given. */
export const CONFIG_NAMES = ['baton.config.ts', 'baton.config.mts', 'baton.config.js', 'baton.config.mjs', 'baton.config.json'];

/**
 * Reads a deploy config: JSON as is, TypeScript and JavaScript through jiti
 * (so a `baton.config.ts` needs no build step). The module's default export,
 * or the module itself, is the config; `defineDeployConfig()` only types it.
 * Validation is `resolveDeployConfig`'s job, not this function's.
 */
export async function loadConfigFile(cwd: string, explicit?: string): Promise<{ path: string; config: unknown }> {
  const path = explicit === undefined ? CONFIG_NAMES.map((name) => resolve(cwd, name)).find((candidate) => existsSync(candidate)) : isAbsolute(explicit) ? explicit : resolve(cwd, explicit);
  if (path === undefined) {
    throw new BatonError('BATON_ERR_DEPLOY_CONFIG', `No deploy config found in ${cwd}: create one of ${CONFIG_NAMES.join(', ')}, or pass --config <file>.`);
  }
  if (!existsSync(path)) throw new BatonError('BATON_ERR_DEPLOY_CONFIG', `The config file ${path} does not exist.`);
  if (path.endsWith('.json')) {
    const text = await readFile(path, 'utf8');
    try {
      return { path, config: JSON.parse(text) as unknown };
    } catch (error) {
      throw new BatonError('BATON_ERR_DEPLOY_CONFIG', `${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  try {
    const { createJiti } = await import('jiti');
    // `import { defineDeployConfig } from '@baton/deploy'` in the config is the CLI's own copy: a
    // project that installed only @baton/cli (or runs a baton from elsewhere) has none of its own to
    // find, and one copy is all a config needs (defineDeployConfig only types it).
    const alias = { '@baton/deploy': fileURLToPath(import.meta.resolve('@baton/deploy')) };
    const jiti = createJiti(import.meta.url, { moduleCache: false, fsCache: false, alias });
    const loaded = await jiti.import<Record<string, unknown>>(path);
    const config = loaded['default'] ?? loaded;
    // A config may be a function of the environment, for per-environment values.
    return { path, config: typeof config === 'function' ? await (config as () => unknown)() : config };
  } catch (error) {
    throw new BatonError('BATON_ERR_DEPLOY_CONFIG', `${path} could not be loaded: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
