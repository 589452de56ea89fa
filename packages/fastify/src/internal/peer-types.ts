import type { PeerType } from '@baton/lifecycle';

// The types of the optional peers (@baton/metrics, @baton/toggles,
// @baton/versioning), read through @baton/lifecycle's OptionalPeerTypes, which
// each of them fills in: the emitted declarations then never import a
// package the user may not have installed (TS2307 with skipLibCheck off).
// Without the package, its options take nothing (`never`) and `req.toggles`
// is `unknown`; with it, they are its own types.

/** `metrics` (a `Metrics`) and `endpointOptions` (`MetricsEndpointServerOptions`) of @baton/metrics. */
export type MetricsTypes = PeerType<'metrics', { metrics: never; endpointOptions: never }>;

/** `option`, `requestToggles` and `contextOptions` (over `request`) of @baton/toggles, typed by the user's `Register`. */
export type TogglesTypes = PeerType<'toggles', { option: never; requestToggles: unknown; request: unknown; contextOptions: never }>;

/** `versioning` (a `Versioning<string>`) of @baton/versioning. */
export type VersioningTypes = PeerType<'versioning', { versioning: never }>;
