import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import express from 'express';
import { expect, it } from 'vitest';
import { fetchText } from '@baton/testing';
import { useSeparateCopy } from '@baton/testing/separate-copy';
import { baton } from './index.js';

// npm installs two copies of @baton/lifecycle when the app and this adapter
// ask for different versions: the app's lifecycle is then another copy's
// class. Copy A is a physically separate copy of the build this adapter uses.
type LifecycleModule = typeof import('@baton/lifecycle');

const copyA = useSeparateCopy<LifecycleModule>(dirname(createRequire(import.meta.url).resolve('@baton/lifecycle/package.json')));

it("baton() takes a lifecycle made by another copy of @baton/lifecycle: its checks answer the probes", async () => {
  const a = copyA();
  const lifecycle = a.createLifecycle({ shutdown: { propagationDelayMs: 0 } });
  let healthy = false;
  lifecycle.checks.add({ name: 'db', check: () => healthy });
  const app = express();
  app.get('/hello', (_request, response) => response.send('hello'));
  const b = baton(app, { lifecycle });
  expect(b.lifecycle).toBe(lifecycle);
  const { url, close } = await b.listen({ port: 0, host: '127.0.0.1' });
  try {
    expect((await fetchText(`${url}/readyz`)).status).toBe(503);
    healthy = true;
    expect((await fetchText(`${url}/readyz`)).status).toBe(200);
    expect((await fetchText(`${url}/hello`)).body).toBe('hello');
  } finally {
    await close();
  }
  expect(lifecycle.state).toBe('stopped');
});
