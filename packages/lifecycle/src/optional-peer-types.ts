/**
 * The types of Baton's optional packages, as the adapters need them. Empty
 * here; each optional package fills in its entry by declaration merging
 * (`@baton/metrics` adds `metrics`, `@baton/toggles` adds `toggles`,
 * `@baton/versioning` adds `versioning`) once its declarations are part of
 * the program, which importing it anywhere makes them.
 *
 * Why: `@baton/express` and `@baton/fastify` take those packages as optional
 * peers. Their declarations cannot `import type` from a package the user may
 * not have installed (TS2307 with `skipLibCheck: false`), and TypeScript's
 * declaration emit drops a `// @ts-ignore` above such an import. Reading the
 * types through this interface, which always exists, gives the full types
 * when the package is installed and a fallback when it is not.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface OptionalPeerTypes {}

/** The entry `K` of {@link OptionalPeerTypes}, or `Fallback` when that package is not in the program. */
export type PeerType<K extends string, Fallback> = OptionalPeerTypes extends { [P in K]: infer T } ? T : Fallback;
