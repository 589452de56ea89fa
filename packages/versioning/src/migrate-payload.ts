import type { VersionChain } from './version-chain.js';

/** Options of {@link migratePayload}. */
export interface MigratePayloadOptions<V extends string> {
  /** The version the payload is written in. */
  from: V;
  /** The version wanted. */
  to: V;
  /** The key the changes name it by: `EVENT order.created` for a message, or a route (`GET /orders/:id`). */
  route: string;
}

/**
 * Moves a webhook or queue payload between versions with the API's own
 * version changes: a webhook written in the newest shape goes down to the
 * version a subscriber is pinned to; a message an older release put on a
 * queue during a deploy comes up to the shape the new release reads.
 *
 * @example
 * migratePayload(chain, event, { route: 'EVENT order.created', from: versions.latest, to: subscriber.apiVersion });
 */
export function migratePayload<V extends string>(chain: VersionChain<V>, payload: unknown, options: MigratePayloadOptions<V>): unknown {
  return chain.migrate(options.route, payload, options.from, options.to);
}
