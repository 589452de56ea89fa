import type { ProviderStates, StateParams } from '../define-states.js';

/** A provider state that could not be set up or torn down. */
export interface StateFailure {
  state: string;
  action: 'setup' | 'teardown';
  reason: string;
}

type PactStateFunc = (params?: unknown) => Promise<Record<string, unknown> | void>;

/**
 * Wraps the states in the shape pact-js calls, recording failures instead of
 * letting Pact log and carry on. Unknown names resolve to a recording handler
 * (pact-js looks handlers up by name at call time).
 */
export function recordStates(states: ProviderStates | undefined): {
  stateHandlers: Record<string, { setup: PactStateFunc; teardown: PactStateFunc }>;
  failures: StateFailure[];
} {
  const failures: StateFailure[] = [];
  const handlers = states?.handlers ?? {};
  const wrap = (name: string) => {
    const handler = Object.hasOwn(handlers, name) ? handlers[name] : undefined;
    const run = async (action: 'setup' | 'teardown', params: unknown) => {
      if (!handler) {
        if (action === 'setup') failures.push({ state: name, action, reason: 'no handler for this state in `states`' });
        return undefined;
      }
      const fn = action === 'setup' ? handler.setup : handler.teardown;
      if (!fn) return undefined;
      try {
        const result = await fn((params ?? {}) as StateParams);
        return action === 'setup' && result && typeof result === 'object' ? result : undefined;
      } catch (error) {
        failures.push({ state: name, action, reason: `${action} threw: ${error instanceof Error ? error.message : String(error)}` });
        return undefined;
      }
    };
    return { setup: (params?: unknown) => run('setup', params), teardown: (params?: unknown) => run('teardown', params) };
  };
  const stateHandlers = new Proxy({} as Record<string, { setup: PactStateFunc; teardown: PactStateFunc }>, {
    get: (_target, key) => (typeof key === 'string' ? wrap(key) : undefined),
    has: (_target, key) => typeof key === 'string',
  });
  return { stateHandlers, failures };
}
