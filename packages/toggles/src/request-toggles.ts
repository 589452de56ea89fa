import type { IncomingMessage } from 'node:http';
import { BatonError } from '@baton/lifecycle';
import type { ToggleVariant } from './internal/toggle-entry.js';
import { parseOverrideHeader, resolveOverridePolicy, type OverrideOptions, type OverridePolicy, type OverrideValue } from './override-header.js';
import type { PayloadOf, ToggleDefinitions } from './registry.js';
import type { ToggleContext, Toggles } from './toggles.js';

/**
 * The toggles of one request: its context (user, session, address, the
 * service's release and instance) built once, and its overrides if allowed.
 * `isEnabled` and `getVariant` allocate nothing per call.
 */
export class ToggleScope<D extends ToggleDefinitions> {
  readonly context: ToggleContext;
  readonly overrides: ReadonlyMap<string, OverrideValue> | undefined;
  readonly #toggles: Toggles<D>;

  constructor(toggles: Toggles<D>, context: ToggleContext, overrides?: ReadonlyMap<string, OverrideValue>) {
    this.#toggles = toggles;
    this.context = context;
    this.overrides = overrides;
  }

  isEnabled<N extends keyof D & string>(name: N): boolean {
    if (this.overrides !== undefined) {
      const forced = this.overrides.get(name);
      if (forced !== undefined) return forced !== false;
    }
    return this.#toggles.isEnabled(name, this.context);
  }

  getVariant<N extends keyof D & string>(name: N): ToggleVariant<PayloadOf<D, N>> {
    if (this.overrides !== undefined) {
      const forced = this.overrides.get(name);
      if (forced !== undefined) return this.#toggles.variantNamed(name, forced === true ? undefined : forced === false ? false : forced);
    }
    return this.#toggles.getVariant(name, this.context);
  }
}

/** How a request becomes a context. `R` is the framework's request (Express `Request`, Fastify `FastifyRequest`). */
export interface RequestContextOptions<R, Name extends string = string> {
  /** The user the request is for: what gradual rollouts and user-id strategies hash. */
  userId?: (request: R) => string | undefined;
  /** The session, for session-sticky rollouts. */
  sessionId?: (request: R) => string | undefined;
  /** The client's address, for IP strategies; default the socket's peer (adapters use the framework's proxy-aware `ip`). */
  remoteAddress?: (request: R) => string | undefined;
  /** More context fields, for constraints (`tenant`, `plan`, ...). */
  properties?: (request: R) => Record<string, string> | undefined;
  /** Per-request overrides through a header, for tests: off unless given, and only for the names in `allow`. */
  overrides?: OverrideOptions<Name>;
}

/** Builds one request's {@link ToggleScope}; the adapters call it lazily, on first use. */
export type RequestScopeFactory<R, D extends ToggleDefinitions> = (request: R, raw: IncomingMessage) => ToggleScope<D>;

/**
 * Makes the function that turns a request into its toggle scope. Options are
 * checked now; an extractor that throws gives an empty field (the request is
 * never failed by it) and is reported once through the toggles' `error` event.
 * Prefer {@link Toggles.requestScopes}, which also logs each kind of fault once.
 */
export function requestScopeFactory<R, D extends ToggleDefinitions>(
  toggles: Toggles<D>,
  options: RequestContextOptions<R, keyof D & string> = {},
  report: (error: BatonError) => void = (error) => toggles.emit('error', error),
): RequestScopeFactory<R, D> {
  for (const key of ['userId', 'sessionId', 'remoteAddress', 'properties'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'function') {
      throw new BatonError('BATON_ERR_INVALID_OPTION', `toggles: context \`${key}\` must be a function of the request.`);
    }
  }
  const policy: OverridePolicy | undefined = options.overrides === undefined ? undefined : resolveOverridePolicy(options.overrides, (name) => toggles.registry.has(name));
  const reported = new Set<string>();
  const safely = <T>(field: string, extract: ((request: R) => T | undefined) | undefined, request: R): T | undefined => {
    if (extract === undefined) return undefined;
    try {
      return extract(request);
    } catch (error) {
      if (!reported.has(field)) {
        reported.add(field);
        report(new BatonError('BATON_ERR_TOGGLE_EVALUATION', `toggles: the \`${field}\` extractor threw (${error instanceof Error ? error.message : String(error)}); the field is left empty.`, { cause: error }));
      }
      return undefined;
    }
  };
  return (request, raw) => {
    const fields: Parameters<Toggles<D>['context']>[0] = {};
    const userId = safely('userId', options.userId, request);
    const sessionId = safely('sessionId', options.sessionId, request);
    const remoteAddress = options.remoteAddress === undefined ? raw.socket?.remoteAddress : safely('remoteAddress', options.remoteAddress, request);
    const properties = safely('properties', options.properties, request);
    if (userId !== undefined) fields.userId = String(userId);
    if (sessionId !== undefined) fields.sessionId = String(sessionId);
    if (remoteAddress !== undefined) fields.remoteAddress = remoteAddress;
    if (properties !== undefined) fields.properties = properties;
    const context = toggles.context(fields);
    // With overrides off the header is never read: a client cannot switch anything.
    if (policy === undefined) return new ToggleScope(toggles, context);
    const { overrides, rejected } = parseOverrideHeader(raw.headers[policy.header], policy);
    if (rejected.length > 0) {
      report(new BatonError('BATON_ERR_INVALID_OPTION', `toggles: ${policy.header} entries ignored: ${rejected.join('; ')}.`));
    }
    return new ToggleScope(toggles, context, overrides);
  };
}
