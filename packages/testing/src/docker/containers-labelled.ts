import { EngineCallError, engineJson } from './internal/engine-api.js';

/**
 * Removes (kills first) every container on the engine that carries `label`
 * (`key=value`, or `key` for any value): the clean-up of a test that labels
 * what it starts. Returns how many it removed.
 *
 * @example
 * afterEach(() => removeContainersLabelled(engine, `baton.test=${runId}`));
 */
export async function removeContainersLabelled(engine: { socketPath: string }, label: string): Promise<number> {
  if (label.trim() === '') throw new Error('removeContainersLabelled: label must be `key=value` or `key`, not empty');
  const filters = encodeURIComponent(JSON.stringify({ label: [label] }));
  const containers = await engineJson<Array<{ Id: string }>>(engine.socketPath, { method: 'GET', path: `/containers/json?all=1&filters=${filters}` });
  const removed = await Promise.all(
    containers.map(async (container) => {
      try {
        await engineJson(engine.socketPath, { method: 'DELETE', path: `/containers/${container.Id}?force=1&v=1`, timeoutMs: 60_000 });
        return 1;
      } catch (error) {
        // Gone already, or another clean-up is removing it right now.
        if (error instanceof EngineCallError && (error.status === 404 || error.status === 409)) return 0;
        throw error;
      }
    }),
  );
  return removed.reduce<number>((sum, one) => sum + one, 0);
}
