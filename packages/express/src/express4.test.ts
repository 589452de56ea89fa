import { createRequire } from 'node:module';
import { request as httpRequest } from 'node:http';
import type { Application } from 'express';
import { describe, expect, it } from 'vitest';
import { waitFor } from '@baton/testing';
import { baton } from './index.js';

// Express 4 is a dev dependency under an alias; it ships no types of its own.
const express4 = createRequire(import.meta.url)('express4') as () => Application;

function call(url: string, method = 'GET'): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Express 4', () => {
  it('answers probes, serves the app, and drains an in-flight request', async () => {
    const app = express4();
    const b = baton(app, { lifecycle: { shutdown: { propagationDelayMs: 0 } } });
    app.get('/slow', (_req, res) => {
      setTimeout(() => res.json({ done: true }), 200);
    });
    const listening = await b.listen({ port: 0, host: '127.0.0.1' });
    try {
      const ready = await call(`${listening.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(ready.type).toBe('application/health+json');
      expect((await call(`${listening.url}/livez`, 'HEAD')).status).toBe(200);

      const slow = call(`${listening.url}/slow`);
      await waitFor(() => b.lifecycle.counts().inFlight > 0, 5000, 'the slow request in flight');
      const report = await listening.close();
      expect(await slow).toMatchObject({ status: 200, body: '{"done":true}' });
      expect(report.forced).toBe(false);
    } finally {
      b.lifecycle.force('test cleanup');
      await listening.close();
    }
  });
});
