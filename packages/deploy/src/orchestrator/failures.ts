import { BatonError } from '@baton/lifecycle';
import type { DeployRecord } from '../service-state.js';

/** Thrown inside a deploy to send it to rollback; its message is the reason people read. */
export class ReleaseFailure extends Error {}

/** The reason of an interruption (the `signal` option): stop, keep the deploy open, no rollback. */
export class Interrupted extends Error {}

/** An instance of `subject` that would not start or get ready: the candidate's fails the release. */
export function startFailure(record: DeployRecord | undefined, subject: { version?: string; release?: string }, message: string): ReleaseFailure | BatonError {
  const version = subject.version ?? subject.release;
  // A stable instance that will not start (during a rollback) is not the candidate's fault.
  if (record !== undefined && version !== record.to) return new BatonError('BATON_ERR_PLATFORM', message);
  return new ReleaseFailure(message);
}
