import { clearControl, readControl, type ControlCommand } from '../control.js';
import { sleep } from '../internal/instance-probes.js';
import type { DeployRecord } from '../service-state.js';
import type { DeployContext } from './deploy-context.js';
import { ReleaseFailure } from './failures.js';

/**
 * The command waiting for this deploy. A control file that cannot be read
 * (`sudo baton abort` by an older Baton left it root's) is said once as a
 * `control-unreadable` event, not taken for "no command" in silence: the
 * person who sent it was told it was delivered.
 */
async function readCommand(ctx: DeployContext, record: DeployRecord): Promise<ControlCommand | undefined> {
  try {
    const command = await readControl(ctx.config.stateDir, record.id);
    ctx.controlUnreadable = false;
    return command;
  } catch (error) {
    if (!ctx.controlUnreadable) {
      ctx.controlUnreadable = true;
      await ctx.event('control-unreadable', `${error instanceof Error ? error.message : String(error)} Until then, promote and abort from another terminal do not reach this deploy (Ctrl-C here still stops it).`);
    }
    return undefined;
  }
}

/**
 * Reads `baton abort` / `baton promote` every 250 ms for the whole deploy:
 * an abort stops whatever step is running (readiness waits, pauses,
 * analysis); a promote that arrives when nothing is paused is dropped, so it
 * cannot approve a later pause in advance. Returns the function that stops polling.
 */
export function pollControl(ctx: DeployContext, record: DeployRecord): () => void {
  let busy = false;
  const timer = setInterval(() => {
    // A pause reads the channel itself (waitForPromotion).
    if (busy || record.phase === 'paused') return;
    busy = true;
    void readCommand(ctx, record)
      .then(async (command) => {
        if (command === undefined || record.phase === 'paused') return;
        await clearControl(ctx.config.stateDir);
        if (command === 'abort') ctx.failRelease('aborted on request');
        else await ctx.event('promote-ignored', 'A promote arrived while nothing was paused; it was dropped.');
      })
      // Reading is reported by readCommand; what is left is the journal failing, which the next save meets too.
      .catch(() => {})
      .finally(() => (busy = false));
  }, 250);
  timer.unref();
  return () => clearInterval(timer);
}

/** While paused, waits for `promote` (go on) or `abort` (roll back), watching the candidate all along. */
export async function waitForPromotion(ctx: DeployContext, record: DeployRecord): Promise<void> {
  for (;;) {
    const command = await readCommand(ctx, record);
    if (command !== undefined) await clearControl(ctx.config.stateDir);
    if (command === 'abort') throw new ReleaseFailure('aborted on request while paused');
    if (command === 'promote') {
      record.phase = 'running';
      delete record.reason;
      await ctx.save();
      await ctx.event('promoted', 'Promoted: going on with the next step.');
      return;
    }
    await sleep(200, ctx.waitSignal());
  }
}
