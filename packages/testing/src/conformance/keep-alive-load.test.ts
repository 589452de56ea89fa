import { afterEach, expect, it } from 'vitest';
import { startKeepAliveLoad } from './keep-alive-load.js';
import { startTestBackend, type TestBackend } from './test-backend.js';

const backends: TestBackend[] = [];
afterEach(async () => {
  await Promise.all(backends.splice(0).map((backend) => backend.kill()));
});

it('counts every request: those on a backend that dies under it are failures, and sent = ok + failed', async () => {
  const backend = await startTestBackend('x');
  backends.push(backend);
  const load = startKeepAliveLoad({ url: `http://127.0.0.1:${backend.port}`, connections: 4, mixes: [['/slow?ms=300'], ['/']], maxRequests: 100_000, maxDurationMs: 20_000 });
  await load.waitUntil(() => load.finished() >= 100 && backend.inFlight() >= 2, 10_000, 'slow requests in flight');
  await backend.kill();
  const report = await load.stop();
  // At least the two slow requests in flight when it died, and every request sent after.
  expect(report.failed).toBeGreaterThanOrEqual(2);
  expect(report.sent).toBe(report.ok + report.failed);
  expect(report.failures.join('\n')).toMatch(/ECONNRESET|ECONNREFUSED|socket hang up/);
});

it('stops by itself at its count bound, with nothing lost', async () => {
  const backend = await startTestBackend('x');
  backends.push(backend);
  const report = await startKeepAliveLoad({ url: `http://127.0.0.1:${backend.port}`, connections: 3, maxRequests: 300 }).done;
  expect(report).toMatchObject({ sent: 300, ok: 300, failed: 0, bodies: { x: 300 } });
  expect(backend.hits()).toBe(300);
});
