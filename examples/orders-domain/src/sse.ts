/**
 * Formats one Server-Sent Events message. Data is JSON on one line, so it
 * can never break the framing.
 */
export function formatSseEvent(event: string, data: unknown, id?: string): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Headers of an SSE response. `no-transform` keeps proxies from buffering the stream. */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
} as const;

/** How often a comment line keeps idle SSE connections open through proxies. */
export const SSE_HEARTBEAT_MS = 15_000;
