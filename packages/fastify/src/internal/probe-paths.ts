/**
 * Key of the decoration where `batonPlugin` leaves its probe paths (kind →
 * path, or null without probes) for `serveFastify()`'s startup line. A
 * symbol, so it is no part of the app's public surface.
 */
export const PROBE_PATHS: unique symbol = Symbol.for('baton.fastify.probePaths');
