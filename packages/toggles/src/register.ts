import type { Lifecycle } from '@baton/lifecycle';
import type { ToggleDefinitions } from './registry.js';
import type { CollectorHost } from './toggle-metrics.js';
import type { RequestContextOptions, ToggleScope } from './request-toggles.js';
import type { Toggles, ToggleStatus } from './toggles.js';

/**
 * Augment once to type `req.toggles` in the adapters with your registry's
 * names and payloads:
 *
 * @example
 * declare module '@baton/toggles' {
 *   interface Register { toggles: typeof flags }
 * }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface Register {}

/** The definitions of the registered toggles; any name when none is registered. */
export type RegisteredDefinitions = Register extends { toggles: Toggles<infer D> } ? D : ToggleDefinitions;

/** The type of `req.toggles` (Express) and `request.toggles` (Fastify). */
export type RequestToggles = ToggleScope<RegisteredDefinitions>;

/** What every `Toggles<D>` offers an adapter, whatever its registry. */
export interface TogglesLike {
  readonly registry: { readonly names: readonly string[]; has(name: string): boolean };
  bindLifecycle(lifecycle: Lifecycle): unknown;
  bindMetrics(metrics: CollectorHost): unknown;
  status(): ToggleStatus;
}

/**
 * What an adapter's `toggles` option accepts: the registered `Toggles` once
 * {@link Register} is augmented (so `togglesContext.overrides.allow` is
 * checked against its names), else any service's toggles.
 */
export type TogglesOption = Register extends { toggles: infer T } ? T : TogglesLike;

/**
 * The types `@baton/express` and `@baton/fastify` read for their `toggles`
 * options, `togglesContext` and `req.toggles`, through `OptionalPeerTypes` of
 * `@baton/lifecycle`: this package is an optional peer of theirs, so they do
 * not import it (a user without it compiles with `skipLibCheck` off).
 * `contextOptions` is read as `(TogglesPeerTypes & { request: R })['contextOptions']`
 * to get the context options over the framework's request type `R`.
 */
export interface TogglesPeerTypes {
  option: TogglesOption;
  requestToggles: RequestToggles;
  request: unknown;
  contextOptions: RequestContextOptions<this['request'], keyof RegisteredDefinitions & string>;
}

declare module '@baton/lifecycle' {
  interface OptionalPeerTypes {
    toggles: TogglesPeerTypes;
  }
}
