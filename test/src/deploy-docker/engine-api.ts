// What the tests ask a Docker engine directly, over its Engine API: the
// facts a deploy on Docker is judged by (which containers of a service exist
// on which engine, of which release) and the blows a test deals (killing a
// container). Asked straight from the engine, not from Baton, so Baton's own
// view is checked against the truth.
import { request } from 'node:http';

/** An engine as the tests know it: `docker` is its address (`unix:///…/docker.sock`). */
export interface EngineAddress {
  name: string;
  docker: string;
}

/** One container as `GET /containers/json` lists it. */
export interface ListedContainer {
  id: string;
  /** `running`, `exited`, `created`... */
  state: string;
  labels: Record<string, string>;
}

/** The unix socket of a `unix://` address; other kinds are not used by these tests. */
function socketOf(engine: EngineAddress): string {
  if (!engine.docker.startsWith('unix://')) throw new Error(`engine ${engine.name}: only unix:// engines are used here; got ${engine.docker}`);
  return engine.docker.slice('unix://'.length);
}

/** One Engine API call; resolves with the status and parsed JSON body (or the raw text when it is not JSON). */
export function engineCall(engine: EngineAddress, method: string, path: string, timeoutMs = 15_000): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socketOf(engine), method, path, headers: { host: 'docker' }, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = text === '' ? undefined : JSON.parse(text);
        } catch {
          // Not JSON: an error text of the engine.
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`engine ${engine.name}: ${method} ${path} unanswered after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Every container (running or not) with all of `labels` on `engine`. */
export async function containersLabelled(engine: EngineAddress, labels: Record<string, string>): Promise<ListedContainer[]> {
  const filters = JSON.stringify({ label: Object.entries(labels).map(([key, value]) => `${key}=${value}`) });
  const { status, body } = await engineCall(engine, 'GET', `/containers/json?all=1&filters=${encodeURIComponent(filters)}`);
  if (status !== 200 || !Array.isArray(body)) throw new Error(`engine ${engine.name}: listing containers answered ${status}: ${JSON.stringify(body)}`);
  return (body as { Id: string; State: string; Labels: Record<string, string> | null }[]).map((entry) => ({ id: entry.Id, state: entry.State, labels: entry.Labels ?? {} }));
}

/** `docker kill` (SIGKILL) of one container. */
export async function killContainer(engine: EngineAddress, id: string): Promise<void> {
  const { status, body } = await engineCall(engine, 'POST', `/containers/${id}/kill?signal=KILL`);
  if (status !== 204) throw new Error(`engine ${engine.name}: killing ${id} answered ${status}: ${JSON.stringify(body)}`);
}

/** A container's output, for failure messages (json-file logs, multiplexed frames stripped to text). */
export async function containerLogs(engine: EngineAddress, id: string): Promise<string> {
  const { body } = await engineCall(engine, 'GET', `/containers/${id}/logs?stdout=1&stderr=1&tail=20`);
  // eslint-disable-next-line no-control-regex
  return typeof body === 'string' ? body.replace(/[\u0000-\u0008]{4}.{4}/gs, '') : JSON.stringify(body);
}
