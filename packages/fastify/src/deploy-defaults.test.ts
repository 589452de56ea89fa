import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { announcedPort, describeDeployDefaults } from '@baton/testing/deploy-env';

// The README's app with nothing but the environment `baton deploy` sets.
const fixture = fileURLToPath(new URL('../fixtures/plain-app.mjs', import.meta.url));

describeDeployDefaults('a Fastify app run by serveFastify() under PORT=0 and RELEASE=v7 (as baton deploy starts it)', fixture);

describe("a Fastify app with a logger (pino)", () => {
  it("gets the startup line through app.log, with the same top-level event and port a deploy platform reads", async () => {
    const { Writable } = await import('node:stream');
    const { default: Fastify } = await import('fastify');
    const { batonPlugin, serveFastify } = await import('./index.js');
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
        done();
      },
    });
    const app = Fastify({ logger: { level: 'info', stream } });
    await app.register(batonPlugin, { lifecycle: { release: 'v9', shutdown: { propagationDelayMs: 0 } } });
    const served = await serveFastify(app, { port: 0, host: '127.0.0.1', signals: false, exit: false });
    try {
      const announced = lines.filter((line) => announcedPort(line) !== undefined);
      expect(announced).toHaveLength(1);
      expect(announcedPort(announced[0] as string)).toBe(served.port);
      expect(JSON.parse(announced[0] as string)).toMatchObject({ level: 30, msg: `listening on ${served.url}`, release: 'v9', probes: { readiness: '/readyz' } });
    } finally {
      await served.shutdown('test over');
    }
  });
});
