import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import Fastify from 'fastify';
import { expect, it } from 'vitest';
import { fetchText } from '@baton/testing';
import { useSeparateCopy } from '@baton/testing/separate-copy';
import { batonPlugin, serveFastify } from './index.js';

// npm installs two copies of @baton/lifecycle when the app and this adapter
// ask for different versions: the app's lifecycle is then another copy's
// class. Copy A is a physically separate copy of the build this adapter uses.
type LifecycleModule = typeof import('@baton/lifecycle');

const copyA = useSeparateCopy<LifecycleModule>(dirname(createRequire(import.meta.url).resolve('@baton/lifecycle/package.json')));

it('batonPlugin takes a lifecycle made by another copy of @baton/lifecycle, and serveFastify runs it', async () => {
  const a = copyA();
  const lifecycle = a.createLifecycle({ logger: a.silentLogger, shutdown: { propagationDelayMs: 0 } });
  let healthy = false;
  lifecycle.checks.add({ name: 'db', check: () => healthy });
  const app = Fastify();
  await app.register(batonPlugin, { lifecycle });
  app.get('/hello', async () => 'hello');
  expect(app.lifecycle).toBe(lifecycle);
  const served = await serveFastify(app, { port: 0, host: '127.0.0.1', signals: false, exit: false });
  try {
    await served.ready;
    expect((await fetchText(`${served.url}/readyz`)).status).toBe(503);
    healthy = true;
    expect((await fetchText(`${served.url}/readyz`)).status).toBe(200);
    expect((await fetchText(`${served.url}/hello`)).body).toBe('hello');
  } finally {
    await served.shutdown('test over');
  }
  expect((await served.stopped).code).toBe(0);
});
