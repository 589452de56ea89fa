import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Drain modes with a fixture server in `test/src/fixtures/`. */
export type FixtureMode = 'baton-core' | 'plain-close' | 'http-terminator' | 'terminus';

const FIXTURE_FILES: Record<FixtureMode, string> = {
  'baton-core': 'baton-server.js',
  'plain-close': 'plain-close-server.js',
  'http-terminator': 'terminator-server.js',
  terminus: 'terminus-server.js',
};

/**
 * The built script of a fixture server. Resolved against `test/dist` both
 * from `dist/harness` (bench, built code) and `src/harness` (vitest runs the
 * sources), since both sit two levels below the package root.
 */
export function fixtureScript(mode: FixtureMode): string {
  return fileURLToPath(new URL(`../../dist/fixtures/${FIXTURE_FILES[mode]}`, import.meta.url));
}

/** The built entry point of an orders example (`examples/orders-<fw>/dist/main.js`). */
export function exampleScript(framework: 'express' | 'fastify'): string {
  return createRequire(import.meta.url).resolve(`@baton/example-orders-${framework}/main`);
}
