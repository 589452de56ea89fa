import { BatonError } from '@baton/lifecycle';
import type { InstanceRecord, ReleaseSpec } from '@baton/deploy';

/** Instance ids name containers (`baton-<service>-<id>`): Docker's name characters. */
export const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Service names go into container names and label filters. */
export const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** A record this platform made: it names its container and the engine that runs it. */
export type ContainerRecord = InstanceRecord & { container: { id: string; engine: string } };

export function checkRelease(release: ReleaseSpec): void {
  if (release === null || typeof release !== 'object') throw invalid('start: the release must be { version, image, command?, args?, env? }.');
  if (typeof release.version !== 'string' || release.version.trim() === '' || /\s/.test(release.version)) {
    throw invalid(`start: the release's \`version\` must be a non-empty label without spaces; got ${JSON.stringify(release.version)}.`);
  }
  const pinned = release.artifact?.kind === 'image' && typeof release.artifact.digest === 'string';
  if (!pinned && (typeof release.image !== 'string' || release.image.trim() === '')) {
    throw invalid(`start: release ${release.version} names no image: the docker platform runs container images (release.image, e.g. 'orders:v2').`);
  }
  if (release.artifact !== undefined && release.artifact.kind !== 'image') {
    throw invalid(`start: release ${release.version} is pinned to a ${JSON.stringify(release.artifact.kind)} artifact; the docker platform runs images.`);
  }
  if (release.command !== undefined && (typeof release.command !== 'string' || release.command.trim() === '')) throw invalid('start: the release\'s `command` must be a non-empty string (it replaces the image\'s entrypoint).');
  if (release.args !== undefined && (!Array.isArray(release.args) || release.args.some((arg) => typeof arg !== 'string'))) throw invalid('start: the release\'s `args` must be an array of strings.');
  if (release.env !== undefined) {
    if (release.env === null || typeof release.env !== 'object' || Array.isArray(release.env)) throw invalid('start: the release\'s `env` must be an object of strings.');
    const bad = Object.entries(release.env).filter(([, value]) => typeof value !== 'string').map(([name]) => name);
    if (bad.length > 0) throw invalid(`start: the release's \`env\` values must be strings; not: ${bad.join(', ')}.`);
  }
  if (release.secretEnv !== undefined && (!Array.isArray(release.secretEnv) || release.secretEnv.some((name) => typeof name !== 'string' || name === ''))) {
    throw invalid('start: the release\'s `secretEnv` must be an array of environment variable names.');
  }
  if (release.cwd !== undefined && (typeof release.cwd !== 'string' || !release.cwd.startsWith('/'))) throw invalid('start: the release\'s `cwd` must be an absolute path in the container.');
}

export function checkRecord(instance: InstanceRecord, method: string): asserts instance is ContainerRecord {
  if (instance === null || typeof instance !== 'object' || typeof instance.id !== 'string') throw invalid(`${method}: expected an instance record from start() or instances().`);
  const container = instance.container;
  if (container === undefined || typeof container.id !== 'string' || container.id === '' || typeof container.engine !== 'string') {
    throw invalid(`${method}: instance ${instance.id} names no container: it was not started by a docker platform.`);
  }
}

export function invalid(message: string): BatonError {
  return new BatonError('BATON_ERR_INVALID_OPTION', `docker platform: ${message}`);
}

export function platformError(message: string, cause?: unknown): BatonError {
  return new BatonError('BATON_ERR_PLATFORM', `docker platform: ${message}`, cause === undefined ? undefined : { cause });
}
