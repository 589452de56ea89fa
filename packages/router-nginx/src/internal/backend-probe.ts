import { request } from 'node:http';
import type { BackendHealth } from '@baton/deploy';

/** What one backend says about itself: whether it can be reached, and the requests it handles now. */
export interface BackendReading {
  health: BackendHealth;
  /** Baton's `http_requests_in_flight` gauge (summed over its series); 0 when it cannot be read. */
  inFlight: number;
}

/** The sum of the `http_requests_in_flight` samples in a Prometheus text exposition (0 when it has none). */
export function inFlightOf(exposition: string): number {
  let sum = 0;
  for (const line of exposition.split('\n')) {
    const match = /^http_requests_in_flight(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    const value = match ? Number(match[1]) : NaN;
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

/**
 * nginx open source cannot say what it has in flight per backend, nor
 * whether a backend is there: both are read from the backend. A connection
 * refused (or not made within the timeout) is `down`; any answer is `up`,
 * and its metrics give the in-flight count.
 */
export function readBackend(host: string, port: number, metricsPath: string, timeoutMs = 1000): Promise<BackendReading> {
  return new Promise((resolve) => {
    let connected = false;
    let settled = false;
    const finish = (reading: BackendReading): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(reading);
    };
    const req = request({ host, port, path: metricsPath, method: 'GET', agent: false, headers: { accept: 'text/plain' } }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        finish({ health: 'up', inFlight: 0 });
        return;
      }
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (body.length < 4_000_000) body += chunk;
      });
      response.on('end', () => finish({ health: 'up', inFlight: inFlightOf(body) }));
      response.on('error', () => finish({ health: 'up', inFlight: 0 }));
    });
    req.on('socket', (socket) => socket.once('connect', () => (connected = true)));
    req.on('error', () => finish({ health: connected ? 'up' : 'down', inFlight: 0 }));
    const timer = setTimeout(() => finish({ health: connected ? 'up' : 'down', inFlight: 0 }), timeoutMs);
    req.end();
  });
}
