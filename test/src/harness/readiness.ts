import { request } from 'node:http';

/** One GET on a fresh connection; resolves with the status, or 0 when it could not connect or timed out. */
export function probeStatus(url: string, timeoutMs = 1000): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/**
 * Polls `<baseUrl><path>` until it answers 200. This is the gate before an
 * instance gets a router slot: HAProxy counts a freshly enabled server as UP
 * before its first check, so its own status cannot be trusted for that.
 */
export async function waitForReady(baseUrl: string, options: { path?: string; timeoutMs?: number; intervalMs?: number } = {}): Promise<void> {
  const path = options.path ?? '/readyz';
  // Generous: it waits on a fact, and a busy machine starts a service in seconds, not milliseconds.
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let last = 0;
  while (Date.now() < deadline) {
    last = await probeStatus(`${baseUrl}${path}`);
    if (last === 200) return;
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
  }
  throw new Error(`${baseUrl}${path} did not answer 200 in time (last status ${last || 'no answer'})`);
}
