import { pingEngine } from './internal/engine-api.js';

/** Whether an engine answers its API (`/_ping`) within the time; a paused, killed or stopped engine does not. */
export function engineAnswers(engine: { socketPath: string }, timeoutMs = 2_000): Promise<boolean> {
  return pingEngine(engine.socketPath, timeoutMs);
}
