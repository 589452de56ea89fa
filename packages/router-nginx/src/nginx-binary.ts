/**
 * The nginx executable: where it is, which version, and `nginx -t` of a
 * configuration before it may replace the running one.
 */
import { spawnSync } from 'node:child_process';
import { BatonError } from '@baton/lifecycle';
import { findExecutable, runExecutable, SBIN_DIRS as KIT_SBIN_DIRS, type ExecutableResult } from '@baton/deploy/kit';

/** The oldest nginx Baton runs: Debian 12's. `-e` (the startup error log) came in 1.19.5, `keepalive_time` in 1.19.10. */
export const MIN_NGINX_VERSION = '1.22';

/** nginx.org's source build installs into /usr/local/nginx. */
const SBIN_DIRS = [...KIT_SBIN_DIRS, '/usr/local/nginx/sbin'];

/**
 * Where `nginx` is: the PATH first, then the sbin directories Debian and
 * source builds install it in (often missing from a non-root PATH);
 * undefined when this machine has none.
 */
export function findNginx(path: string = process.env.PATH ?? '', extraDirs: readonly string[] = SBIN_DIRS): string | undefined {
  return findExecutable('nginx', path, extraDirs);
}

/** True when nginx is installed (on PATH, or in an sbin directory). */
export function nginxInstalled(): boolean {
  return findNginx() !== undefined;
}

/** Runs `binary args`, never rejects: the exit code and the output (stdout and stderr) say what happened. */
export function runNginx(binary: string, args: readonly string[], timeoutMs = 20_000): Promise<ExecutableResult> {
  return runExecutable(binary, args, timeoutMs);
}

/** `[major, minor]` of a `nginx -v` output, or undefined when it holds no nginx version. */
export function parseNginxVersion(output: string): [number, number, string] | undefined {
  const match = /nginx\/(\d+)\.(\d+)(\.\d+)?/.exec(output);
  return match ? [Number(match[1]), Number(match[2]), `${match[1]}.${match[2]}${match[3] ?? ''}`] : undefined;
}

/** Why the nginx whose `nginx -v` printed `output` cannot be Baton's router (no version, older than 1.22), or undefined when it can. */
export function versionProblem(binary: string, output: string): string | undefined {
  const version = parseNginxVersion(output);
  if (version === undefined) return `${binary} -v does not print an nginx version (${output.slice(0, 200) || 'nothing'}); install nginx ${MIN_NGINX_VERSION} or later (apt-get install nginx).`;
  const [minMajor, minMinor] = MIN_NGINX_VERSION.split('.').map(Number) as [number, number];
  if (version[0] < minMajor || (version[0] === minMajor && version[1] < minMinor)) {
    return `${binary} is nginx ${version[2]}; Baton needs ${MIN_NGINX_VERSION} or later (Debian 12's nginx, or nginx.org's packages).`;
  }
  return undefined;
}

const NOT_INSTALLED = '`nginx` is not installed: install it (apt-get install nginx) or use router.kind builtin.';

/** Why nginx at `binary` cannot be Baton's router (missing, not runnable, older than 1.22), or undefined when it can. */
export async function nginxProblem(binary: string | undefined): Promise<string | undefined> {
  if (binary === undefined) return NOT_INSTALLED;
  const result = await runNginx(binary, ['-v'], 10_000);
  if (result.error) return `${binary} cannot be run (${result.error.code ?? result.error.message}); install nginx ${MIN_NGINX_VERSION} or later (apt-get install nginx).`;
  return versionProblem(binary, result.output);
}

/** {@link nginxProblem} of the nginx on this machine, synchronously (a provider's `unavailable()` is). */
export function nginxProblemSync(): string | undefined {
  const binary = findNginx();
  if (binary === undefined) return NOT_INSTALLED;
  // nginx -v prints to stderr.
  const run = spawnSync(binary, ['-v'], { encoding: 'utf8', timeout: 10_000 });
  if (run.error) return `${binary} cannot be run (${(run.error as NodeJS.ErrnoException).code ?? run.error.message}); install nginx ${MIN_NGINX_VERSION} or later (apt-get install nginx).`;
  return versionProblem(binary, `${run.stdout}${run.stderr}`.trim());
}

/**
 * Runs `nginx -t` on `configFile`; rejects with BATON_ERR_NGINX_CONFIG and
 * nginx's own words when it refuses it. `-e stderr`: the check must not
 * write into the running router's error log.
 */
export async function testNginxConfig(binary: string, prefix: string, configFile: string): Promise<void> {
  const result = await runNginx(binary, ['-t', '-q', '-p', `${prefix}/`, '-c', configFile, '-e', 'stderr']);
  if (result.error) throw new BatonError('BATON_ERR_NGINX_START', `nginx router: cannot run ${binary} -t (${result.error.code ?? result.error.message}).`, { cause: result.error });
  if (result.code !== 0) throw new BatonError('BATON_ERR_NGINX_CONFIG', `nginx router: nginx -t rejects the configuration ${configFile} (the running nginx keeps its previous one):\n${result.output}`);
}
