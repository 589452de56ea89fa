import type { ToggleDefinitions } from './registry.js';
import type { ToggleScope } from './request-toggles.js';
import type { Toggles } from './toggles.js';

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
