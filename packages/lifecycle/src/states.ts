/** Where an instance is in its life. Every change is emitted as a `state` event. */
export type LifecycleState = 'starting' | 'ready' | 'draining' | 'stopped' | 'failed';

const ALLOWED: Record<LifecycleState, readonly LifecycleState[]> = {
  starting: ['ready', 'draining', 'failed'],
  ready: ['draining', 'failed'],
  // A drain always finishes in `stopped`, even when it was forced.
  draining: ['stopped'],
  stopped: [],
  // A failed instance is still drained and stopped, so in-flight work is not lost.
  failed: ['draining', 'stopped'],
};

/** True when the lifecycle may move from `from` to `to`. */
export function canTransition(from: LifecycleState, to: LifecycleState): boolean {
  return ALLOWED[from].includes(to);
}
