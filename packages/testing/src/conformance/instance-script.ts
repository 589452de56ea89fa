/**
 * The instance the platform suite runs: a node script (written to a temp dir)
 * whose behaviour is picked by its first argument. It notes what happened to
 * it (`boot`, `sigterm`, `exiting`, each with its pid) in the file named by
 * `CONFORMANCE_MARKER`, and prints Baton's listening line once it listens.
 *
 * - `serve`: listens on `PORT` (0: any) at `HOST`, answers `RELEASE BATON_INSTANCE`;
 *   `/exit` answers, then exits with code 7. On SIGTERM it closes and exits 0
 *   after 300 ms of "shutdown work", so a platform that does not wait is caught.
 * - `ignore-term`: the same, but SIGTERM changes nothing.
 * - `listen-on-go`: listens only once the file `<marker>.go` exists.
 * - `exit-at-once`: prints a line with its second argument (a word to find in
 *   the platform's error) to stderr and exits 3.
 * - `never-listen`: prints such a line and runs on without listening.
 */
export const INSTANCE_SCRIPT = `
import { createServer } from 'node:http';
import { appendFileSync, existsSync } from 'node:fs';
const mode = process.argv[2] ?? 'serve';
const marker = process.env.CONFORMANCE_MARKER;
const token = process.argv[3] ?? '';
const note = (what) => { if (marker) appendFileSync(marker, what + ' ' + process.pid + '\\n'); };
note('boot');
if (mode === 'exit-at-once') {
  console.error('conformance instance: cannot start (' + token + ')');
  process.exit(3);
}
setInterval(() => {}, 1 << 30);
let server;
process.on('SIGTERM', () => {
  note('sigterm');
  if (mode === 'ignore-term') return;
  server?.close();
  server?.closeAllConnections();
  setTimeout(() => { note('exiting'); process.exit(0); }, 300);
});
const listen = () => {
  server = createServer((req, res) => {
    if (req.url === '/exit') res.end('bye', () => process.exit(7));
    else res.end(process.env.RELEASE + ' ' + process.env.BATON_INSTANCE);
  });
  server.listen(Number(process.env.PORT || 0), process.env.HOST || '127.0.0.1', () => {
    console.log(JSON.stringify({ event: 'listening', port: server.address().port }));
  });
};
if (mode === 'never-listen') console.error('conformance instance: still warming up (' + token + ')');
else if (mode === 'listen-on-go') {
  const poll = setInterval(() => { if (existsSync(marker + '.go')) { clearInterval(poll); listen(); } }, 20);
} else listen();
`;

/** The modes of {@link INSTANCE_SCRIPT}. */
export type InstanceMode = 'serve' | 'ignore-term' | 'listen-on-go' | 'exit-at-once' | 'never-listen';
