/**
 * The line an instance prints once it listens, so the local process platform
 * learns its port: one JSON object with `"event": "listening"` and the port,
 * on stdout or stderr (both go to the instance's log). Other fields are
 * ignored, so a structured logger's line passes as it is — Baton's `serve()`,
 * `serveFastify()` and `@baton/express` print one like
 *
 *   {"time":"…","level":"info","name":"baton","msg":"listening on http://127.0.0.1:4123","event":"listening","port":4123,"url":"…","release":"v2","probes":{…}}
 *
 * and a service of one's own may print just `{"event":"listening","port":4123}`.
 */

/** The shape of the line, for messages that tell people how to produce it. */
export const LISTENING_LINE_EXAMPLE = '{"event":"listening","port":N}';

/**
 * The port a listening line announces, or undefined when `line` is not one
 * (not JSON, another event, a port that is not an integer 1–65535). Only the
 * top-level `event` and `port` count: a `port` nested in another field (the
 * probe server's, say) is not the service's.
 *
 * @example
 * parseListeningPort('{"level":"info","msg":"listening on http://127.0.0.1:4123","event":"listening","port":4123}'); // 4123
 */
export function parseListeningPort(line: string): number | undefined {
  const text = line.trim();
  // Cheap checks first: an instance's log is mostly other lines.
  if (!text.startsWith('{') || !text.includes('listening')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { event, port } = parsed as { event?: unknown; port?: unknown };
  if (event !== 'listening' || typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return port;
}

/** The port of the last listening line among `lines` (a service that listens again announces its new port). */
export function lastListeningPort(lines: readonly string[]): number | undefined {
  let port: number | undefined;
  for (const line of lines) port = parseListeningPort(line) ?? port;
  return port;
}
