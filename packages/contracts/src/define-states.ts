/** Parameters a provider state receives, as the consumer wrote them in the pact. */
export type StateParams = Record<string, unknown>;

/** A state's setup and optional teardown. Setup may return values to inject into the request. */
export interface StateHandler<P> {
  setup: (params: P) => void | Record<string, unknown> | Promise<void | Record<string, unknown>>;
  teardown?: (params: P) => void | Promise<void>;
}

/** Provider states by name; a bare function is the setup. */
export type StateHandlers<S extends Record<string, StateParams>> = {
  [K in keyof S]: StateHandler<S[K]> | StateHandler<S[K]>['setup'];
};

/** The typed provider states passed to {@link verifyProvider}'s `states`. */
export interface ProviderStates {
  readonly handlers: Readonly<Record<string, StateHandler<StateParams>>>;
}

/**
 * Declares the provider states a provider supports, typed by their parameters.
 * A state the pact names but this map lacks fails its interaction, and so does
 * a state whose setup or teardown throws.
 *
 * @example
 * const states = defineStates<{ 'order exists': { id: string } }>()({
 *   'order exists': { setup: ({ id }) => store.add({ id }), teardown: () => store.clear() },
 * });
 */
export function defineStates<S extends Record<string, StateParams>>(): (handlers: StateHandlers<S>) => ProviderStates {
  return (handlers) => {
    const normalized: Record<string, StateHandler<StateParams>> = {};
    for (const [name, handler] of Object.entries(handlers) as [string, unknown][]) {
      if (typeof handler === 'function') {
        normalized[name] = { setup: handler as StateHandler<StateParams>['setup'] };
      } else if (handler && typeof handler === 'object' && typeof (handler as StateHandler<StateParams>).setup === 'function') {
        normalized[name] = handler as StateHandler<StateParams>;
      } else {
        throw new TypeError(`defineStates: state "${name}" needs a function or { setup, teardown? }.`);
      }
    }
    return { handlers: normalized };
  };
}
