export { versionScheme, type VersionScheme, type VersionSchemeName } from './version-scheme.js';
export { defineVersions, type Versions, type VersionsOptions, type Resolution } from './versions.js';
