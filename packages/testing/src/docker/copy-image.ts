import { EngineCallError, engineResponse, readBody, readProgress, type EngineCall } from './internal/engine-api.js';
import { imageId } from './node-image.js';

/**
 * Copies an image from one engine to another, streaming `docker save` into
 * `docker load` (no temp file); the id stays the same. A tag given as
 * `image` comes along. Resolves with the id once `to` has it; an image `to`
 * already has is not copied again.
 */
export async function copyImage(from: { socketPath: string }, to: { socketPath: string }, image: string): Promise<{ id: string }> {
  const id = await imageId(from.socketPath, image);
  if (id === undefined) throw new Error(`copyImage: the engine at ${from.socketPath} has no image ${image}`);
  const present = await imageId(to.socketPath, image);
  if (present === id) return { id };

  const save: EngineCall = { method: 'GET', path: `/images/get?${new URLSearchParams({ names: image }).toString()}`, timeoutMs: 30_000 };
  const saved = await engineResponse(from.socketPath, save);
  if ((saved.statusCode ?? 0) >= 400) throw new EngineCallError(saved.statusCode ?? 0, save, await readBody(saved));
  const load: EngineCall = { method: 'POST', path: '/images/load?quiet=1', headers: { 'content-type': 'application/x-tar' }, body: saved };
  await readProgress(await engineResponse(to.socketPath, load), load);

  const loaded = await imageId(to.socketPath, id);
  if (loaded !== id) throw new Error(`copyImage: ${image} loaded into ${to.socketPath} but the engine has ${loaded ?? 'no image'} under ${id}`);
  return { id };
}
