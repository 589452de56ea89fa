// The README's measurement: keep-alive load through 20 graceful reloads of
// nginx, either one nginx (clients and backends in the reloaded process) or
// Baton's layout (a never-reloaded edge in front of the reloaded balancer).
//   node packages/router-nginx/scripts/reload-experiment.mjs single|edge [reloads] [gapMs]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { startKeepAliveLoad } from '@baton/testing/conformance';

const mode = process.argv[2] === 'single' ? 'single' : 'edge';
const reloads = Number(process.argv[3] ?? 20);
const gapMs = Number(process.argv[4] ?? 300);
const dir = mkdtempSync('/tmp/bn-exp-');
const backendScript = `const s = require('node:http').createServer((q, r) => { q.resume(); q.on('end', () => r.end('ok')); }); s.keepAliveTimeout = 60000; s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
const backends = [];
const ports = [];
for (let i = 0; i < 2; i += 1) {
  const child = spawn(process.execPath, ['-e', backendScript], { stdio: ['ignore', 'pipe', 'inherit'] });
  backends.push(child);
  ports.push(await new Promise((resolve) => child.stdout.once('data', (data) => resolve(Number(String(data))))));
}
const port = await new Promise((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const free = probe.address().port;
    probe.close(() => resolve(free));
  });
});
const temps = (tier) => ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `${kind}_temp_path ${dir}/${tier}-${kind};`).join(' ');
// As root, workers as root too: they must reach the private (0700) directory, as in the router.
const user = process.getuid() === 0 ? 'user root root; ' : '';
const main = (name) => `${user}worker_processes 1; daemon on; pid ${dir}/${name}.pid; error_log ${dir}/error.log; events { worker_connections 1024; }`;
const upstream = (generation) => `upstream be { server 127.0.0.1:${ports[0]} weight=${(generation % 2) + 1}; server 127.0.0.1:${ports[1]}; keepalive 16; keepalive_timeout 4s; }`;
const toBackends = 'proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://be;';
const reloaded = (generation) =>
  mode === 'single'
    ? `${main('reloaded')} http { access_log off; ${temps('r')} keepalive_requests 1000000000; ${upstream(generation)} server { listen 127.0.0.1:${port}; location / { ${toBackends} } } }`
    : `${main('reloaded')} http { access_log off; ${temps('r')} ${upstream(generation)} server { listen unix:${dir}/balancer.sock backlog=4096; location / { ${toBackends} } } }`;
const edge = `${main('edge')} http { access_log off; ${temps('e')} keepalive_requests 1000000000; server { listen 127.0.0.1:${port}; location / { proxy_http_version 1.1; proxy_set_header Connection close; proxy_pass http://unix:${dir}/balancer.sock; } } }`;
const start = (name, text) => {
  writeFileSync(`${dir}/${name}.conf`, text);
  execFileSync('nginx', ['-p', `${dir}/`, '-c', `${dir}/${name}.conf`, '-e', `${dir}/error.log`]);
};
start('reloaded', reloaded(0));
if (mode === 'edge') start('edge', edge);
// Every request counted: a complete 2xx answer or a failure (a reset, a close without an answer, a timeout).
const load = startKeepAliveLoad({ url: `http://127.0.0.1:${port}`, connections: 32, maxDurationMs: 60_000, timeoutMs: 5000 });
await load.waitUntil(() => load.finished() >= 1000, 10_000, '1000 answers');
const master = Number(readFileSync(`${dir}/reloaded.pid`, 'utf8'));
for (let generation = 1; generation <= reloads; generation += 1) {
  writeFileSync(`${dir}/reloaded.conf`, reloaded(generation));
  process.kill(master, 'SIGHUP');
  await new Promise((resolve) => setTimeout(resolve, gapMs));
}
const report = await load.stop();
console.log(JSON.stringify({ mode, reloads, sent: report.sent, ok: report.ok, failed: report.failed, durationMs: report.durationMs, firstFailures: report.failures.slice(0, 3) }));
for (const name of mode === 'edge' ? ['edge', 'reloaded'] : ['reloaded']) process.kill(Number(readFileSync(`${dir}/${name}.pid`, 'utf8')), 'SIGQUIT');
for (const child of backends) child.kill();
if (!process.env.KEEP) setTimeout(() => rmSync(dir, { recursive: true, force: true }), 1000);
else console.log(dir);
