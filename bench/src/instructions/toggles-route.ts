// The request-level form of the toggles benchmark: the orders route, with the
// handler reading two toggles of the toggles benchmark (toggles-fixture.ts)
// for the user named in `x-user` — a boolean (`rollout`: flexibleRollout 50%,
// userId stickiness) and a variant (`checkout`: two variants with JSON
// payloads) — and answering them in the body. Through Baton the handler asks
// `req.toggles` (the scope the adapter builds on first read); without, it asks
// a raw unleash-client over the same toggles with a context built by hand,
// as an application without Baton would.
import type { Unleash } from 'unleash-client';
import type { Toggles } from '@baton/toggles';
import { orderBody, type OrderBody } from '../servers/order-route.js';
import { batonFromFile, clientFeatures, rawUnleash, type BenchDefinitions } from '../toggles-fixture.js';

/** The header naming the user (what a session or token would give a real handler). */
export const USER_HEADER = 'x-user';
export const FLAG = 'rollout';
export const EXPERIMENT = 'checkout';

/** The body of the toggles route: the order, and what the two toggles said. */
export interface TogglesBody extends OrderBody {
  rollout: boolean;
  checkout: string;
}

export function togglesBody(id: string, rollout: boolean, checkout: string): TogglesBody {
  return { ...orderBody(id), rollout, checkout };
}

/** Baton's toggles over the toggles benchmark's features (its file source, not watched). */
export function batonToggles(): Promise<Toggles<BenchDefinitions>> {
  return batonFromFile(clientFeatures());
}

/** A raw unleash-client over the same features. */
export function rawToggles(): Promise<Unleash> {
  return rawUnleash(clientFeatures(), 'bench-raw-route');
}

/** What the route must answer for `user` (the parent computes it with a raw unleash-client of its own). */
export function expectedTogglesBody(unleash: Unleash, id: string, user: string): TogglesBody {
  const context = { userId: user, remoteAddress: '127.0.0.1' };
  return togglesBody(id, unleash.isEnabled(FLAG, context), unleash.getVariant(EXPERIMENT, context).name);
}
