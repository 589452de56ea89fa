import type { Readable } from 'node:stream';
import { BatonError } from '@baton/lifecycle';
import type { Artifact } from '@baton/deploy';
import { type Engine, EngineUnreachable, describeError, statusOf } from './engine.js';

/** What an engine holds under an image reference. */
export interface ImageOnEngine {
  engine: Engine;
  /** `sha256:…`, the digest of the image's config: the same on every engine that holds the same image. */
  id: string;
  repoDigests: string[];
  sizeBytes: number;
}

/** Bytes of an image move between engines without a time limit of their own (a big image over SSH takes a while); only the connection has one. */
const COPY_LIMIT_MS = 30 * 60_000;

/** The image `reference` on `engine`, or undefined when the engine does not hold it; unreachable engines reject. */
export async function inspectImage(engine: Engine, reference: string): Promise<ImageOnEngine | undefined> {
  try {
    const info = await engine.call(`inspect image ${reference}`, () => engine.docker.getImage(reference).inspect());
    return { engine, id: info.Id, repoDigests: info.RepoDigests ?? [], sizeBytes: info.Size };
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}

/**
 * Resolves `image` to one image id on every engine (copying it to engines
 * that lack it) and returns the artifact that pins it.
 */
export async function pinImage(engines: readonly Engine[], image: string): Promise<Artifact> {
  const found = await Promise.all(
    engines.map(async (engine) => {
      try {
        return { engine, image: await inspectImage(engine, image) };
      } catch (error) {
        throw platformError(`cannot pin image ${image}: ${error instanceof EngineUnreachable ? error.message : `engine ${engine.name}: ${describeError(error)}`}`, error);
      }
    }),
  );
  const holders = found.flatMap((entry) => (entry.image === undefined ? [] : [entry.image]));
  const first = holders[0];
  if (first === undefined) throw noImageError(image, engines);
  const other = holders.find((holder) => holder.id !== first.id);
  if (other !== undefined) {
    throw platformError(
      `engines ${first.engine.name} and ${other.engine.name} hold different images under ${image}: ${first.engine.name} has ${first.id}, ${other.engine.name} has ${other.id}. ` +
        'A release must be the same bytes everywhere: build the image once and copy it (docker save | docker load), or push it to a registry and name it by digest',
    );
  }
  for (const entry of found) {
    if (entry.image === undefined) await copyImage(first, entry.engine, image);
  }
  const repoDigest = first.repoDigests[0];
  return { kind: 'image', digest: first.id, source: image, location: repoDigest ?? first.id, sizeBytes: first.sizeBytes };
}

/**
 * Makes `target` hold the image `source` holds: a pull by repo digest when
 * the image came from a registry (the registry has exactly these bytes),
 * else the engine's own export streamed into the other's import (save →
 * load), so a fleet needs no registry at all.
 */
export async function copyImage(source: ImageOnEngine, target: Engine, name: string): Promise<void> {
  for (const repoDigest of source.repoDigests) {
    try {
      const stream = (await target.call(`pull ${repoDigest}`, (signal) => target.docker.pull(repoDigest, { abortSignal: signal }))) as unknown as Readable;
      await target.call(`pull ${repoDigest}`, () => followProgress(target, stream), COPY_LIMIT_MS);
      if ((await inspectImage(target, source.id))?.id === source.id) return;
    } catch {
      // No registry reachable from that engine: the copy below needs none.
    }
  }
  try {
    // Saved by name, so the copy keeps its tag (`orders:v2`) next to its id.
    const saved = (await source.engine.call(`save image ${name}`, () => source.engine.docker.getImage(savable(name, source)).get(), COPY_LIMIT_MS)) as unknown as Readable;
    const loading = (await target.call(`load image ${name}`, () => target.docker.loadImage(saved), COPY_LIMIT_MS)) as unknown as Readable;
    await target.call(`load image ${name}`, () => followProgress(target, loading), COPY_LIMIT_MS);
  } catch (error) {
    throw platformError(`cannot copy image ${name} (${source.id}) from engine ${source.engine.name} to engine ${target.name}: ${error instanceof EngineUnreachable ? error.message : describeError(error)}`, error);
  }
  const copied = await inspectImage(target, source.id).catch(() => undefined);
  if (copied === undefined) throw platformError(`copied image ${name} from engine ${source.engine.name} to engine ${target.name}, but ${target.name} does not hold ${source.id} afterwards`);
}

/** A name `docker save` takes that keeps the tag: the name as written, unless it is a digest reference (then the id). */
function savable(name: string, source: ImageOnEngine): string {
  return name.includes('@') ? source.id : name;
}

/** Waits for a pull's or load's JSON progress stream to end; an `error` in it rejects. */
function followProgress(engine: Engine, stream: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    engine.docker.modem.followProgress(stream, (error: Error | null, output: { error?: string; errorDetail?: { message?: string } }[]) => {
      if (error !== null) return reject(error);
      const failed = output.find((line) => line.error !== undefined || line.errorDetail !== undefined);
      if (failed !== undefined) return reject(new Error(failed.errorDetail?.message ?? failed.error));
      return resolve();
    });
  });
}

export function noImageError(image: string, engines: readonly Engine[]): BatonError {
  return platformError(`image ${image} is on none of the engines ${engines.map((engine) => engine.name).join(', ')}: build or pull it first`);
}

function platformError(message: string, cause?: unknown): BatonError {
  return new BatonError('BATON_ERR_PLATFORM', `docker platform: ${message}`, cause === undefined ? undefined : { cause });
}
