// A real HTTP proxy that misbehaves on demand: `@baton/testing/fault-proxy`.
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';

/**
 * How the proxy answers:
 *
 * - `pass`: forwards to the target as is (a target that is down gets a 502);
 * - `html`: 200 with an HTML page (a captive portal, a login page);
 * - `truncated`: 200 with the target's headers and `Content-Length`, half of its body, then the socket destroyed;
 * - `empty-object`: 200 `{}`;
 * - `features-not-array`: 200 `{"features":"x"}`;
 * - `invalid-feature`: 200 with the target's answer plus one feature entry that is not a feature;
 * - `status-500`, `status-503`: that status with a short text body;
 * - `hang`: reads the request and never answers (until the client gives up or the proxy closes).
 */
export type FaultMode = 'pass' | 'html' | 'truncated' | 'empty-object' | 'features-not-array' | 'invalid-feature' | 'status-500' | 'status-503' | 'hang';

/** One request the proxy received, with the mode that answered it. */
export interface ProxiedRequest {
  method: string;
  /** Path and query, e.g. `/api/client/features`. */
  path: string;
  mode: FaultMode;
  /** When it arrived, ms since the epoch. */
  at: number;
}

/** A proxy on `127.0.0.1`, port 0, between a client and `target`. */
export interface FaultProxy {
  /** `http://127.0.0.1:PORT`: give the client this instead of the target's origin. */
  readonly url: string;
  readonly port: number;
  /** The mode for requests from now on. */
  mode: FaultMode;
  /** Every request received so far, in order. */
  readonly requests: readonly ProxiedRequest[];
  /** How many requests were received (matching `filter`, when given). */
  count(filter?: (request: ProxiedRequest) => boolean): number;
  /** Stops listening and destroys every connection, hanging ones included. */
  close(): Promise<void>;
}

/**
 * Starts a proxy to `target` (an origin such as `http://127.0.0.1:4242`) that
 * answers in the {@link FaultMode} set on it, so a test can put a real
 * client behind garbage, partial or missing answers and switch back.
 *
 * @example
 * const proxy = await startFaultProxy(unleash.url);
 * proxy.mode = 'empty-object';
 */
export async function startFaultProxy(target: string, options: { mode?: FaultMode } = {}): Promise<FaultProxy> {
  const upstream = new URL(target);
  const requests: ProxiedRequest[] = [];
  let mode: FaultMode = options.mode ?? 'pass';

  const server = createServer((req, res) => {
    const current = mode;
    requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', mode: current, at: Date.now() });
    void answer(current, req, res).catch(() => res.destroy());
  });

  const answer = async (current: FaultMode, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    switch (current) {
      case 'pass':
        return forward(req, res);
      case 'html':
        return send(res, 200, 'text/html; charset=utf-8', '<!doctype html><html><head><title>Sign in</title></head><body><h1>Please sign in</h1></body></html>');
      case 'empty-object':
        return send(res, 200, 'application/json', '{}');
      case 'features-not-array':
        return send(res, 200, 'application/json', '{"features":"x"}');
      case 'status-500':
        return send(res, 500, 'text/plain', 'Internal Server Error');
      case 'status-503':
        return send(res, 503, 'text/plain', 'Service Unavailable');
      case 'hang':
        // Read the request so the client waits for an answer that never comes.
        req.resume();
        return;
      case 'truncated': {
        const whole = await fetchWhole(req);
        const body = Buffer.from(whole.body);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
        res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
        return;
      }
      case 'invalid-feature': {
        const whole = await fetchWhole(req);
        const data = JSON.parse(whole.body) as { features?: unknown[] };
        data.features = [...(data.features ?? []), { name: 'baton.fault-proxy.not-a-feature', enabled: 'yes' }];
        return send(res, 200, 'application/json', JSON.stringify(data));
      }
    }
  };

  const forward = (req: IncomingMessage, res: ServerResponse): Promise<void> =>
    new Promise((resolve) => {
      const out = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
        (upstreamRes) => {
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
          upstreamRes.pipe(res);
          upstreamRes.on('end', () => resolve());
          upstreamRes.on('error', () => {
            res.destroy();
            resolve();
          });
        },
      );
      out.on('error', () => {
        // The target is down: answer as a real reverse proxy would.
        if (!res.headersSent) send(res, 502, 'text/plain', 'Bad Gateway');
        else res.destroy();
        resolve();
      });
      req.pipe(out);
    });

  // The target's whole answer, to be altered: asked without the ETag (a 200 with a body) and uncompressed.
  const fetchWhole = (req: IncomingMessage): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const headers: IncomingHttpHeaders = { ...req.headers, host: upstream.host };
      delete headers['if-none-match'];
      delete headers['accept-encoding'];
      const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (upstreamRes) => {
        let body = '';
        upstreamRes.setEncoding('utf8');
        upstreamRes.on('data', (chunk: string) => (body += chunk));
        upstreamRes.on('end', () => resolve({ status: upstreamRes.statusCode ?? 0, body }));
        upstreamRes.on('error', reject);
      });
      out.on('error', reject);
      req.pipe(out);
    });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get mode() {
      return mode;
    },
    set mode(next: FaultMode) {
      mode = next;
    },
    requests,
    count(filter) {
      return filter === undefined ? requests.length : requests.filter(filter).length;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}
