// Sources of the typed consumers: what a user's strict TypeScript project
// writes against the packed packages. They only have to compile; the
// `@ts-expect-error` lines prove the types are real (not `any`): a misspelt
// toggle name or a wrong option must not compile.

/** A user's strict tsconfig: `skipLibCheck: false`, so every shipped .d.ts is checked too. */
export function strictTsconfig(include: string[], extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify(
    {
      compilerOptions: {
        target: 'es2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        strict: true,
        exactOptionalPropertyTypes: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: false,
        noEmit: true,
        types: ['node'],
        ...extra,
      },
      include,
    },
    null,
    2,
  )}\n`;
}

/** With every optional peer installed: each package's main API, Express and Fastify. */
export const ALL_PEERS_SOURCE = `import express from 'express';
import Fastify from 'fastify';
import { baton } from '@baton/express';
import { batonPlugin, serveFastify } from '@baton/fastify';
import { createLifecycle, isBatonError, type Lifecycle } from '@baton/lifecycle';
import { createMetrics } from '@baton/metrics';
import { createToggles, defineToggles } from '@baton/toggles';
import { createVersioning, defineVersions } from '@baton/versioning';
import { defineStates, type VerifyProviderOptions } from '@baton/contracts';
import { checkMigrations } from '@baton/migrations';
import { defineDeployConfig } from '@baton/deploy';
import type { runCli } from '@baton/cli';

const definitions = defineToggles({
  newCheckout: { kind: 'release', default: false, description: 'The one-page checkout' },
});
const flags = createToggles(definitions, { source: { type: 'file', path: 'toggles.json' } });
declare module '@baton/toggles' {
  interface Register {
    toggles: typeof flags;
  }
}
const versioning = createVersioning({ versions: defineVersions({ versions: ['2025-01-01', '2026-01-01'], default: 'latest' }), changes: [] });

export function expressService(): Promise<unknown> {
  const app = express();
  const { lifecycle, serve } = baton(app, {
    metrics: createMetrics(),
    toggles: flags,
    togglesContext: { userId: (req) => req.get('x-user') },
    versioning,
    lifecycle: { service: 'orders', shutdown: { propagationDelayMs: 1000 } },
  });
  app.get('/orders/:id', (req, res) => {
    const checkout: boolean = req.toggles.isEnabled('newCheckout');
    // @ts-expect-error: not a registered toggle
    req.toggles.isEnabled('newChekout');
    res.json({ id: req.params.id, apiVersion: req.apiVersion, checkout });
  });
  lifecycle.checks.add({ name: 'db', check: async ({ signal }) => !signal.aborted });
  lifecycle.onShutdown(() => undefined, { name: 'pool' });
  // @ts-expect-error: the port is a number
  void (() => serve({ port: '3000' }));
  return serve();
}

export async function fastifyService(): Promise<unknown> {
  const app = Fastify();
  await app.register(batonPlugin, { metrics: createMetrics(), toggles: flags, versioning });
  app.get('/orders/:id', async (request) => ({ apiVersion: request.apiVersion, checkout: request.toggles.isEnabled('newCheckout') }));
  const lifecycle: Lifecycle = app.lifecycle;
  lifecycle.onShutdown(() => undefined, { name: 'pool' });
  return serveFastify(app, { host: '0.0.0.0' });
}

export function lifecycleAlone(error: unknown): boolean {
  const lifecycle = createLifecycle({ service: 'worker' });
  return lifecycle.state === 'starting' && isBatonError(error);
}

export const states = defineStates<{ 'order exists': { id: string } }>()({ 'order exists': { setup: ({ id }) => void id } });
export type ProviderOptions = VerifyProviderOptions;
export const migrations = (): Promise<unknown> => checkMigrations({ dir: 'migrations' });
export const deployConfig = defineDeployConfig({
  service: 'orders',
  release: { version: 'v2', command: 'node', args: ['dist/main.js'] },
  strategy: { type: 'canary', steps: [{ setWeight: 20 }, { pause: {} }] },
});
export type Cli = typeof runCli;
`;

/** Without any optional peer: only the adapters and their frameworks. */
export const NO_PEERS_SOURCE = `import express from 'express';
import Fastify from 'fastify';
import { baton } from '@baton/express';
import { batonPlugin, serveFastify } from '@baton/fastify';

export function expressService(): Promise<unknown> {
  const app = express();
  const { lifecycle, serve } = baton(app, { lifecycle: { service: 'orders' } });
  app.get('/orders/:id', (req, res) => res.json({ id: req.params.id }));
  lifecycle.checks.add({ name: 'db', check: async () => true });
  // @ts-expect-error: not an option
  void (() => baton(app, { metric: true }));
  return serve();
}

export async function fastifyService(): Promise<unknown> {
  const app = Fastify();
  await app.register(batonPlugin, { lifecycle: { service: 'orders' } });
  app.get('/orders/:id', async () => ({ ok: true }));
  app.lifecycle.onShutdown(() => undefined, { name: 'pool' });
  return serveFastify(app);
}
`;
