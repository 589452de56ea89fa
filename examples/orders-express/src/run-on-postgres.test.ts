// `pnpm example`: the built service under examples/orders-domain's run-on-postgres runner, which
// starts a PostgreSQL of its own, sets DATABASE_URL, and removes the database once the service exits.
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { call, waitUntilReady } from '@baton/example-orders-domain/service-contract';
import pg from 'pg';
import { expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const RUNNER = join(dirname(createRequire(import.meta.url).resolve('@baton/example-orders-domain')), 'run-on-postgres.js');

it('pnpm example: runs the service on a PostgreSQL of its own, and on Ctrl-C drains it, then removes the database', async () => {
  // A process group of its own, as a terminal would run it: Ctrl-C signals the whole group.
  const runner = spawn(process.execPath, [RUNNER, MAIN], {
    env: { ...process.env, DATABASE_URL: '', PORT: '0', BATON_PROPAGATION_DELAY_MS: '100' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let err = '';
  runner.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  runner.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => runner.once('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 60_000;
    while (!out.includes('\n')) {
      if (runner.exitCode !== null || Date.now() > deadline) throw new Error(`no listening line: ${err}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const { url } = JSON.parse(out.slice(0, out.indexOf('\n'))) as { url: string };
    await waitUntilReady(url, 30_000);
    // The log shows the URL without its password; the whole URL is in a private file.
    expect((/"databaseUrl":"([^"]+)"/.exec(err) ?? [])[1]).toMatch(/^postgres:\/\/postgres:\[redacted\]@127\.0\.0\.1:\d+\/orders$/);
    const urlFile = (/"databaseUrlFile":"([^"]+)"/.exec(err) ?? [])[1] as string;
    expect(statSync(urlFile).mode & 0o777).toBe(0o600);
    const databaseUrl = readFileSync(urlFile, 'utf8').trim();
    expect(err).not.toContain(new URL(databaseUrl).password);

    const created = await call(`${url}/orders`, { method: 'POST', body: { customer: 'c-1', items: [{ sku: 'TEA-1', quantity: 1 }] } });
    expect(created.status).toBe(201);
    // The order is in the database, in the table the service's migration made.
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      expect((await client.query('SELECT buyer, recipient FROM orders')).rows).toEqual([{ buyer: 'c-1', recipient: 'c-1' }]);
      expect((await client.query('SELECT file FROM schema_migrations')).rows).toEqual([{ file: '0001_orders.sql' }]);
    } finally {
      await client.end();
    }

    process.kill(-(runner.pid as number), 'SIGINT');
    expect(await exited).toBe(0);
    // One signal reached the service (a second would have cut its drain short), and it drained.
    expect(err.match(/signal received: shutting down/g)).toHaveLength(1);
    expect(err).toMatch(/"msg":"shutdown finished"[^\n]*"forced":false/);
    // The database is gone with it.
    await expect(new pg.Client({ connectionString: databaseUrl }).connect()).rejects.toThrow(/ECONNREFUSED/);
  } finally {
    if (runner.exitCode === null && runner.signalCode === null) {
      // SIGTERM first: the runner then stops its PostgreSQL too.
      process.kill(-(runner.pid as number), 'SIGTERM');
      const timer = setTimeout(() => runner.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
  }
}, 90_000);
