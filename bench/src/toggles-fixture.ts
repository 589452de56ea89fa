// The toggles benchmark's setup, shared by its timing, allocation and
// instruction-count processes (toggles-compare.ts): one registry, the same
// features in Unleash's client format for both sides, the same contexts, and
// the evaluation loops of each side.
//
// Raw side: an unleash-client `Unleash` bootstrapped with the features (no
// server: refresh off, usage metrics off, an in-memory storage provider).
// Baton side: `createToggles` over the same features as a file (no watching),
// evaluated directly (`flags.isEnabled(name, context)`) and through request
// scopes (`requestScopeFactory(flags)(req, raw).isEnabled(name)`), the
// per-request API the adapters hand out; and the registry-defaults source.
import type { IncomingMessage } from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createToggles, defineToggles, requestScopeFactory, type ToggleContext, type Toggles, type ToggleScope } from '@baton/toggles';
import { Unleash } from 'unleash-client';

export const registry = defineToggles({
  everyone: { kind: 'release', default: true, description: 'On for everyone (the default strategy)' },
  rollout: { kind: 'release', default: false, description: 'Gradual rollout to half of the users (flexibleRollout 50%, userId stickiness)' },
  listedUsers: { kind: 'permission', default: false, description: 'On for a list of users (userWithId)' },
  canary: { kind: 'release', default: false, description: 'On where the custom property release is v2 (a constraint)' },
  checkout: { kind: 'experiment', default: false, description: 'Checkout experiment: two variants with JSON payloads', payload: 'json' },
});

export type BenchDefinitions = (typeof registry)['definitions'];
export type BenchName = (typeof registry)['names'][number];

/** The boolean toggles, one per kind of strategy, evaluated with `isEnabled`. */
export const BOOLEAN_TOGGLES = ['everyone', 'rollout', 'listedUsers', 'canary'] as const satisfies readonly BenchName[];
/** The toggle evaluated with `getVariant`. */
export const VARIANT_TOGGLE = 'checkout' satisfies BenchName;

/** What each toggle is, for the report. */
export const TOGGLE_SHAPES: Record<BenchName, string> = {
  everyone: '`default` strategy',
  rollout: '`flexibleRollout` 50%, `userId` stickiness',
  listedUsers: '`userWithId`, 20 ids',
  canary: '`default` strategy with the constraint `release IN [v2]` (a custom property)',
  checkout: '`flexibleRollout` 100% with two strategy variants (JSON payloads), `getVariant`',
};

/** Unleash's client format (`GET /api/client/features`, version 2), as a server serves it. */
export function clientFeatures(): { version: 2; features: unknown[] } {
  const listed = Array.from({ length: 20 }, (_, i) => `user-${i * 37}`).join(',');
  return {
    version: 2,
    features: [
      { name: 'everyone', type: 'release', enabled: true, project: 'default', stale: false, impressionData: false, strategies: [{ name: 'default', parameters: {}, constraints: [] }] },
      {
        name: 'rollout',
        type: 'release',
        enabled: true,
        project: 'default',
        stale: false,
        impressionData: false,
        strategies: [{ name: 'flexibleRollout', parameters: { rollout: '50', stickiness: 'userId', groupId: 'rollout' }, constraints: [] }],
      },
      {
        name: 'listedUsers',
        type: 'permission',
        enabled: true,
        project: 'default',
        stale: false,
        impressionData: false,
        strategies: [{ name: 'userWithId', parameters: { userIds: listed }, constraints: [] }],
      },
      {
        name: 'canary',
        type: 'release',
        enabled: true,
        project: 'default',
        stale: false,
        impressionData: false,
        strategies: [{ name: 'default', parameters: {}, constraints: [{ contextName: 'release', operator: 'IN', values: ['v2'], inverted: false, caseInsensitive: false }] }],
      },
      {
        name: 'checkout',
        type: 'experiment',
        enabled: true,
        project: 'default',
        stale: false,
        impressionData: false,
        strategies: [
          {
            name: 'flexibleRollout',
            parameters: { rollout: '100', stickiness: 'default', groupId: 'checkout' },
            constraints: [],
            variants: [
              { name: 'blue', weight: 500, weightType: 'variable', stickiness: 'default', payload: { type: 'json', value: '{"colour":"blue","discount":10}' } },
              { name: 'green', weight: 500, weightType: 'variable', stickiness: 'default', payload: { type: 'json', value: '{"colour":"green","discount":0}' } },
            ],
          },
        ],
      },
    ],
  };
}

/** What Baton's registry-defaults source loads: each toggle on or off by its `default`, through the `default` strategy. */
export function defaultsAsFeatures(): { version: 2; features: unknown[] } {
  return {
    version: 2,
    features: registry.names.map((name) => ({ name, enabled: registry.get(name).default, strategies: [{ name: 'default', parameters: {}, constraints: [] }] })),
  };
}

/** A request as the scope's extractors see it. */
export interface BenchRequest {
  userId: string;
  ip: string;
  properties: Record<string, string>;
}

/** The contexts every side evaluates: user ids, an address and the custom property `release` (a quarter on v2). */
export function makeContexts(count: number): { contexts: ToggleContext[]; requests: BenchRequest[] } {
  const contexts: ToggleContext[] = [];
  const requests: BenchRequest[] = [];
  for (let i = 0; i < count; i += 1) {
    const userId = `user-${i}`;
    const ip = `10.0.${(i >> 8) & 255}.${i & 255}`;
    const release = i % 4 === 0 ? 'v2' : 'v1';
    // The key order of the context a scope builds (`userId`, `remoteAddress`, `properties`).
    contexts.push({ userId, remoteAddress: ip, properties: { release } });
    requests.push({ userId, ip, properties: { release } });
  }
  return { contexts, requests };
}

/** A raw unleash-client instance over `data`, as an application without Baton would make one for a fixed set. */
export async function rawUnleash(data: { features: unknown[] }, appName = 'bench-raw'): Promise<Unleash> {
  const unleash = new Unleash({
    appName,
    url: 'http://127.0.0.1:9/api',
    refreshInterval: 0,
    disableMetrics: true,
    // Parsed from the same JSON text Baton's file source reads, so both sides evaluate objects of the same shapes.
    bootstrap: { data: (JSON.parse(JSON.stringify(data)) as { features: never }).features },
    storageProvider: { set: async () => {}, get: async () => undefined },
    skipInstanceCountWarning: true,
  });
  unleash.on('error', () => {});
  unleash.on('warn', () => {});
  if (!isReady(unleash)) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('toggles bench: the raw unleash-client never became ready from its bootstrap')), 10_000);
      unleash.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  for (const feature of data.features as { name: string }[]) {
    if (unleash.getFeatureToggleDefinition(feature.name) === undefined) throw new Error(`toggles bench: the raw unleash-client did not load "${feature.name}"`);
  }
  return unleash;
}

function isReady(unleash: Unleash): boolean {
  return (unleash as unknown as { ready?: boolean }).ready === true;
}

/** Baton over the features as a file (not watched): the file source. */
export async function batonFromFile(data: { features: unknown[] }): Promise<Toggles<BenchDefinitions>> {
  const path = join(tmpdir(), `baton-bench-toggles-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(data));
  try {
    // Read synchronously at construction; the file is not needed afterwards (watch: false).
    const flags = createToggles(registry, { source: { type: 'file', path, watch: false }, appName: 'bench-baton' });
    await flags.ready();
    return flags;
  } finally {
    rmSync(path, { force: true });
  }
}

/** Baton over the registry's defaults. */
export async function batonFromDefaults(): Promise<Toggles<BenchDefinitions>> {
  const flags = createToggles(registry, { appName: 'bench-baton-defaults' });
  await flags.ready();
  return flags;
}

/** One request scope per request, built once and reused, as the adapters hand them out. */
export function makeScopes(flags: Toggles<BenchDefinitions>, requests: readonly BenchRequest[]): ToggleScope<BenchDefinitions>[] {
  const factory = scopeFactory(flags);
  return requests.map((request) => factory(request, rawRequestOf(request)));
}

export function scopeFactory(flags: Toggles<BenchDefinitions>): (request: BenchRequest, raw: IncomingMessage) => ToggleScope<BenchDefinitions> {
  return requestScopeFactory<BenchRequest, BenchDefinitions>(flags, { userId: (r) => r.userId, remoteAddress: (r) => r.ip, properties: (r) => r.properties });
}

export function rawRequestOf(request: BenchRequest): IncomingMessage {
  return { headers: {}, socket: { remoteAddress: request.ip } } as unknown as IncomingMessage;
}

/** Runs a side's evaluations `reps` times over every context; returns a checksum so nothing is optimised away. */
export type Loop = (reps: number) => number;

// One function per side and call, so the sides do not share a call site.

export function rawIsEnabled(unleash: Unleash, names: readonly string[], contexts: readonly ToggleContext[]): Loop {
  return (reps) => {
    let on = 0;
    for (let r = 0; r < reps; r += 1) {
      for (let c = 0; c < contexts.length; c += 1) {
        const context = contexts[c] as ToggleContext;
        for (let n = 0; n < names.length; n += 1) if (unleash.isEnabled(names[n] as string, context)) on += 1;
      }
    }
    return on;
  };
}

export function batonIsEnabled(flags: Toggles<BenchDefinitions>, names: readonly BenchName[], contexts: readonly ToggleContext[]): Loop {
  return (reps) => {
    let on = 0;
    for (let r = 0; r < reps; r += 1) {
      for (let c = 0; c < contexts.length; c += 1) {
        const context = contexts[c] as ToggleContext;
        for (let n = 0; n < names.length; n += 1) if (flags.isEnabled(names[n] as BenchName, context)) on += 1;
      }
    }
    return on;
  };
}

export function scopeIsEnabled(scopes: readonly ToggleScope<BenchDefinitions>[], names: readonly BenchName[]): Loop {
  return (reps) => {
    let on = 0;
    for (let r = 0; r < reps; r += 1) {
      for (let c = 0; c < scopes.length; c += 1) {
        const scope = scopes[c] as ToggleScope<BenchDefinitions>;
        for (let n = 0; n < names.length; n += 1) if (scope.isEnabled(names[n] as BenchName)) on += 1;
      }
    }
    return on;
  };
}

export function rawGetVariant(unleash: Unleash, name: string, contexts: readonly ToggleContext[]): Loop {
  return (reps) => {
    let sum = 0;
    for (let r = 0; r < reps; r += 1) {
      for (let c = 0; c < contexts.length; c += 1) sum += unleash.getVariant(name, contexts[c] as ToggleContext).name.length;
    }
    return sum;
  };
}

export function batonGetVariant(flags: Toggles<BenchDefinitions>, name: BenchName, contexts: readonly ToggleContext[]): Loop {
  return (reps) => {
    let sum = 0;
    for (let r = 0; r < reps; r += 1) {
      for (let c = 0; c < contexts.length; c += 1) sum += flags.getVariant(name, contexts[c] as ToggleContext).name.length;
    }
    return sum;
  };
}

export function scopeGetVariant(scopes: readonly ToggleScope<BenchDefinitions>[], name: BenchName): Loop {
  return (reps) => {
    let sum = 0;
    for (let r = 0; r < reps; r += 1) {
      for (let c = 0; c < scopes.length; c += 1) sum += (scopes[c] as ToggleScope<BenchDefinitions>).getVariant(name).name.length;
    }
    return sum;
  };
}

/** The loop alone: the same iteration with a call that does nothing. */
export function emptyLoop(names: readonly string[], contexts: readonly ToggleContext[]): Loop {
  const nothing = (name: string, context: ToggleContext): boolean => name.length === 0 && context === undefined;
  return (reps) => {
    let on = 0;
    for (let r = 0; r < reps; r += 1) {
      for (let c = 0; c < contexts.length; c += 1) {
        const context = contexts[c] as ToggleContext;
        for (let n = 0; n < names.length; n += 1) if (nothing(names[n] as string, context)) on += 1;
      }
    }
    return on;
  };
}
