// The fixed request sequences of the instruction counts and the checks of
// their answers. Every app of a family gets the same bytes (the versioned
// apps add their client's `Api-Version`, as in the time-based benchmark);
// before anything is counted, each distinct request's answer is checked
// against what its client must get, and its body is kept: every counted
// request must come back with exactly that body.
import { isDeepStrictEqual } from 'node:util';
import type { Unleash } from 'unleash-client';
import { ORDER_PATH, orderBody } from '../servers/order-route.js';
import { answerProblem, answerSummary, CLIENT_OF } from '../versioning-compare.js';
import type { VersioningApp } from '../versioning-apps.js';
import { benchRequest, GET_ROUTE, POST_ROUTE } from '../versioning-fixture.js';
import { prepareRequest, type DriverAnswer, type PreparedRequest } from './request-driver.js';
import { expectedTogglesBody, rawToggles, USER_HEADER } from './toggles-route.js';
import { VARIANT_INFO, type BatchKind, type VariantId } from './variants.js';

/** Users of the orders family's sequence: request i comes from `user-(i mod USERS)`. */
export const USERS = 100;

/** The versioning app behind a versioning-family variant. */
const VERSIONING_APP: Partial<Record<VariantId, VersioningApp>> = { vBare: 'bare', vBaton: 'baton', vLatest: 'latest', vOldest: 'oldest' };

/** A batch kind's sequence, and how to check an answer to its request `i`. */
export interface KindSequence {
  kind: BatchKind;
  /** What the report calls the requests. */
  route: string;
  requests: PreparedRequest[];
  /** A problem with the answer to `requests[i]`, or undefined. */
  problem(i: number, answer: DriverAnswer): string | undefined;
  /** One line for the report about a correct answer to `requests[i]`. */
  summary(i: number, answer: DriverAnswer): string;
}

/** The sequences of `variant`, one per batch kind. */
export async function sequencesOf(variant: VariantId): Promise<KindSequence[]> {
  const app = VERSIONING_APP[variant];
  if (app !== undefined) return VARIANT_INFO[variant].kinds.map((kind) => versioningSequence(app, kind));
  return [await ordersSequence(variant)];
}

async function ordersSequence(variant: VariantId): Promise<KindSequence> {
  const users = Array.from({ length: USERS }, (_, i) => `user-${i}`);
  const requests = users.map((user) => prepareRequest('GET /orders/:id', 'GET', ORDER_PATH, { [USER_HEADER]: user }, undefined, 200));
  const id = ORDER_PATH.split('/').pop() ?? '';
  let expected: (i: number) => unknown = () => orderBody(id);
  let what = 'the order';
  if (variant === 'batonToggles' || variant === 'batonRawToggles') {
    const unleash: Unleash = await rawToggles();
    const bodies = users.map((user) => expectedTogglesBody(unleash, id, user));
    unleash.destroy();
    expected = (i) => bodies[i];
    const on = bodies.filter((body) => body.rollout).length;
    what = `the order with the user's toggles (rollout on for ${on} of ${USERS} users, checkout variants ${[...new Set(bodies.map((body) => body.checkout))].join('/')}), as a raw unleash-client evaluates them`;
  }
  return {
    kind: 'GET',
    route: `GET ${ORDER_PATH.replace(/\/[^/]+$/, '/:id')}`,
    requests,
    problem: (i, answer) => {
      if (answer.status !== 200) return `answered ${answer.status}: ${answer.body.toString('utf8').slice(0, 300)}`;
      let body: unknown;
      try {
        body = JSON.parse(answer.body.toString('utf8'));
      } catch {
        return `answered a body that is not JSON: ${answer.body.toString('utf8').slice(0, 300)}`;
      }
      return isDeepStrictEqual(body, expected(i)) ? undefined : `answered ${JSON.stringify(body)}; expected ${JSON.stringify(expected(i))}`;
    },
    summary: (_i, answer) => `${answer.status}, ${answer.body.length} B, ${what}`,
  };
}

function versioningSequence(app: VersioningApp, kind: BatchKind): KindSequence {
  const request = benchRequest(kind, CLIENT_OF[app]);
  const prepared = prepareRequest(`${request.method} ${kind === 'GET' ? GET_ROUTE : POST_ROUTE}`, request.method, request.path, request.headers, request.body, request.status);
  return {
    kind,
    route: `${request.method} ${kind === 'GET' ? GET_ROUTE : POST_ROUTE}`,
    requests: [prepared],
    problem: (_i, answer) => answerProblem(app, request, answer.status, (name) => answer.headers[name] ?? null, answer.body.toString('utf8')),
    summary: (_i, answer) => answerSummary(app, request, answer.status, answer.body.toString('utf8')),
  };
}
