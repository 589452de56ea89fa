import { connect } from 'node:net';

/**
 * True when `target` (a TCP `host`/`port`, or a unix socket `path`) accepts a
 * connection within `timeoutMs`: something listens there. Never rejects.
 */
export function acceptsConnection(target: { host: string; port: number } | { path: string }, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(target);
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
