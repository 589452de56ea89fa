import { request } from 'node:http';

/** Resolves after `ms`, or at once when `signal` aborts (the caller looks at the signal next). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * True when `url` answers an HTTP request, whatever the status. A published
 * port accepts TCP connections as soon as the container starts (the
 * engine's proxy holds it), so only an answer proves the service listens.
 */
export function answersHttp(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', timeout: timeoutMs, headers: { connection: 'close', 'user-agent': 'baton-platform-docker' } }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}
