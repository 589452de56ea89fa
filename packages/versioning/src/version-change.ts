/** What a transform knows about the message it changes. */
export interface TransformContext {
  /** The route template, `GET /orders/:id`. */
  route: string;
  /** The response status (responses only). */
  status?: number;
}

/**
 * One backward-incompatible change, introduced in `version`: how a request
 * written for the version before becomes one for `version` (`request`), and
 * how a response of `version` goes back to the shape of the version before
 * (`response`, and `error` for 4xx/5xx bodies). The application's code only
 * ever sees the newest shapes.
 *
 * The type parameters say the shapes on each side, so a transform returning
 * the wrong shape does not compile:
 * `versionChange<OrderBefore, OrderAfter>({ response: { downgrade: (order) => ... } })`.
 */
export interface VersionChange<Before = unknown, After = unknown, RequestBefore = unknown, RequestAfter = unknown> {
  /** The version that introduced the change. */
  version: string;
  /** One line for the changelog: what changed, for whom. */
  description: string;
  /** The routes whose bodies it changes (`GET /orders/:id`), or `*` for every route. */
  routes: readonly string[];
  request?: { upgrade: (body: RequestBefore, context: TransformContext) => RequestAfter };
  response?: { downgrade: (body: After, context: TransformContext) => Before };
  /** Error bodies (status ≥ 400); left as they are when absent. */
  error?: { downgrade: (body: unknown, context: TransformContext) => unknown };
  /** Routes that exist from this version on (older clients get 404). */
  routesAdded?: readonly string[];
  /** Routes that exist only before this version (this version's clients and newer get 404). */
  routesRemoved?: readonly string[];
}

/**
 * Any version change, whatever its shapes: what a chain holds. Each typed
 * {@link VersionChange} is one (its transforms take `never`, which every
 * body type accepts).
 */
export interface AnyVersionChange {
  version: string;
  description: string;
  routes: readonly string[];
  request?: { upgrade: (body: never, context: TransformContext) => unknown };
  response?: { downgrade: (body: never, context: TransformContext) => unknown };
  error?: { downgrade: (body: never, context: TransformContext) => unknown };
  routesAdded?: readonly string[];
  routesRemoved?: readonly string[];
}

/**
 * Declares a version change, typed by the response shapes before and after
 * it (and optionally the request shapes). Checked when the chain is made.
 *
 * @example
 * versionChange<{ customer: string }, { customerId: string; customerName: string }>({
 *   version: '2025-03-01',
 *   description: '`customer` is split into `customerId` and `customerName`.',
 *   routes: ['GET /orders/:id'],
 *   response: { downgrade: ({ customerId, customerName, ...rest }) => ({ ...rest, customer: `${customerId}:${customerName}` }) },
 * });
 */
export function versionChange<Before = unknown, After = unknown, RequestBefore = unknown, RequestAfter = unknown>(
  change: VersionChange<Before, After, RequestBefore, RequestAfter>,
): VersionChange<Before, After, RequestBefore, RequestAfter> {
  return Object.freeze({ ...change });
}
