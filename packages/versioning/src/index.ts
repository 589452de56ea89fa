export { versionScheme, type VersionScheme, type VersionSchemeName } from './version-scheme.js';
export { defineVersions, type Versions, type VersionsOptions, type Resolution } from './versions.js';
export { createNegotiator, versionFromAccept, type NegotiationOptions, type NegotiableRequest, type Negotiated, type VersionSource } from './negotiation.js';
export { PROBLEM_CONTENT_TYPE, problemType, type ProblemDetails } from './problem.js';
export { createVersionLifecycle, type VersionLifecycle, type VersionLifecycleOptions, type VersionRetirement, type VersionStanding } from './version-lifecycle.js';
export { versionChange, type VersionChange, type AnyVersionChange, type TransformContext } from './version-change.js';
export { createVersionChain, type VersionChain } from './version-chain.js';
export { renderChangelog, type ChangelogOptions } from './changelog.js';
export { migratePayload, type MigratePayloadOptions } from './migrate-payload.js';
