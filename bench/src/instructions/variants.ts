// The apps whose requests are counted, per framework (Express 5, Fastify 5).
// Two families, each sent one fixed sequence of requests:
//
// - orders (the throughput benchmark's app, servers/*-app.ts): `GET
//   /orders/42` answering a small JSON body, each request from one of 100
//   users (an `x-user` header, which only the toggles apps read);
// - versioning (the API versioning benchmark's API, versioning-apps.ts):
//   `GET /orders/ord_42` and `POST /orders` with ~1 KB bodies, in batches of
//   their own.

export type Framework = 'express' | 'fastify';
export const FRAMEWORKS: readonly Framework[] = ['express', 'fastify'];

/** A batch's requests: the orders route, or one of the versioning API's two routes. */
export type BatchKind = 'GET' | 'POST';

export const VARIANTS = ['bare', 'bareAgain', 'baton', 'batonMetrics', 'batonToggles', 'batonRawToggles', 'vBare', 'vBaton', 'vLatest', 'vOldest'] as const;
export type VariantId = (typeof VARIANTS)[number];

export type Family = 'orders' | 'versioning';

export interface VariantInfo {
  id: VariantId;
  family: Family;
  /** What the report calls it. */
  label: string;
  /** How it is built. */
  wiring: string;
  kinds: readonly BatchKind[];
}

const ORDERS: readonly BatchKind[] = ['GET'];
const API: readonly BatchKind[] = ['GET', 'POST'];

export const VARIANT_INFO: Record<VariantId, VariantInfo> = {
  bare: { id: 'bare', family: 'orders', label: 'bare', wiring: 'the framework alone (`servers/express-app.ts`, `servers/fastify-app.ts`)', kinds: ORDERS },
  bareAgain: { id: 'bareAgain', family: 'orders', label: 'bare again (A/A control)', wiring: 'the same bare app in a second process', kinds: ORDERS },
  baton: { id: 'baton', family: 'orders', label: 'Baton (lifecycle, probes)', wiring: '`baton(app)` / `batonPlugin`, then `serve()` / `serveFastify()`, as `servers/*-baton.ts`', kinds: ORDERS },
  batonMetrics: { id: 'batonMetrics', family: 'orders', label: 'Baton + metrics', wiring: 'as Baton, with `metrics: createMetrics({ release: \'v1\' })` (`servers/metrics-setup.ts`)', kinds: ORDERS },
  batonToggles: {
    id: 'batonToggles',
    family: 'orders',
    label: 'Baton + toggles',
    wiring: 'as Baton, with `toggles` (the toggles benchmark\'s file source) and `togglesContext.userId` from `x-user`; the route reads `req.toggles.isEnabled(\'rollout\')` and `req.toggles.getVariant(\'checkout\')` and answers them in the body',
    kinds: ORDERS,
  },
  batonRawToggles: {
    id: 'batonRawToggles',
    family: 'orders',
    label: 'Baton + raw unleash-client in the route',
    wiring: 'as Baton without `toggles`; the route asks a raw unleash-client (same toggles) `isEnabled(\'rollout\', ctx)` and `getVariant(\'checkout\', ctx)` with `ctx = { userId, remoteAddress }` built by hand: the same body',
    kinds: ORDERS,
  },
  vBare: { id: 'vBare', family: 'versioning', label: 'versioning API, bare', wiring: 'the framework alone (`versioning-apps.ts`)', kinds: API },
  vBaton: { id: 'vBaton', family: 'versioning', label: 'versioning API, Baton without versioning', wiring: 'Baton (lifecycle, probes), no `versioning` option', kinds: API },
  vLatest: { id: 'vLatest', family: 'versioning', label: 'Baton + versioning, latest client', wiring: 'Baton with `versioning`, sent `Api-Version: 2025-03-01`', kinds: API },
  vOldest: { id: 'vOldest', family: 'versioning', label: 'Baton + versioning, five behind', wiring: 'Baton with `versioning`, sent `Api-Version: 2023-01-15` (every change runs)', kinds: API },
};

/** A framework and one of its variants. */
export interface Selection {
  framework: Framework;
  variant: VariantId;
}

/**
 * The selection from `BENCH_INSTRUCTIONS_ONLY`: comma-separated frameworks
 * (`express`), variants (`vLatest`) or both (`fastify:vOldest`); a framework
 * alone means all its variants, a variant alone means it in both frameworks.
 * Everything when empty.
 */
export function selectVariants(only: string | undefined): Selection[] {
  const all = FRAMEWORKS.flatMap((framework) => VARIANTS.map((variant) => ({ framework, variant })));
  const tokens = (only ?? '').split(',').map((token) => token.trim()).filter(Boolean);
  if (tokens.length === 0) return all;
  const wanted = (s: Selection): boolean =>
    tokens.some((token) => {
      const [first, second] = token.split(':');
      if (second !== undefined) return first === s.framework && second === s.variant;
      return first === s.framework || first === s.variant;
    });
  for (const token of tokens) {
    const [first, second] = token.split(':');
    const known = (name: string | undefined): boolean => (FRAMEWORKS as readonly string[]).includes(name ?? '') || (VARIANTS as readonly string[]).includes(name ?? '');
    if (!known(first) || (second !== undefined && !(VARIANTS as readonly string[]).includes(second))) {
      throw new Error(`BENCH_INSTRUCTIONS_ONLY: unknown "${token}"; frameworks ${FRAMEWORKS.join(', ')}, variants ${VARIANTS.join(', ')}, or framework:variant`);
    }
  }
  return all.filter(wanted);
}
