// The deploy bench's figures for people: the console lines, the Deploys
// section of RESULTS.md and its Targets rows.
import type { DeployBenchResult, DeployBenchRow } from './deploy-bench.js';

const ROUTER_NAMES: Record<string, string> = { builtin: 'built-in', haproxy: 'HAProxy', nginx: 'nginx' };
const routerName = (kind: string): string => ROUTER_NAMES[kind] ?? kind;

/** Router CPU in milliseconds per 1,000 responses over the deploy; undefined when no response came. */
export function cpuPerThousand(row: DeployBenchRow): number | undefined {
  return row.responsesDuringDeploy > 0 ? (row.routerCpuSeconds * 1_000_000) / row.responsesDuringDeploy : undefined;
}

/** This row's router CPU per request over the built-in router's in the same scenario. */
function cpuVsBuiltin(result: DeployBenchResult, row: DeployBenchRow): string {
  const builtin = result.rows.find((other) => other.router === 'builtin' && other.service === row.service && other.scenario === row.scenario);
  const mine = cpuPerThousand(row);
  const theirs = builtin === undefined ? undefined : cpuPerThousand(builtin);
  return mine === undefined || theirs === undefined || theirs === 0 ? '—' : `${(mine / theirs).toFixed(2)}×`;
}

const ratio = (row: DeployBenchRow): string => (row.limitSeconds === undefined || row.limitSeconds === 0 ? '—' : `${(row.deploySeconds / row.limitSeconds).toFixed(2)}×`);

export function deployConsoleLine(row: DeployBenchRow): string {
  const cpu = cpuPerThousand(row);
  return (
    `${row.router.padEnd(8)} ${row.service.padEnd(6)} ${row.scenario.padEnd(46)} failed ${String(row.failed).padStart(5)} of ${row.sent}` +
    `  deploy ${row.deploySeconds.toFixed(2)} s (exited ${row.totalSeconds.toFixed(2)} s)` +
    (row.limitSeconds === undefined ? '' : `  limit ${row.limitSeconds.toFixed(2)} s (${ratio(row)})`) +
    `  router CPU ${row.routerCpuSeconds.toFixed(2)} s${cpu === undefined ? '' : ` (${cpu.toFixed(0)} ms per 1k req)`}`
  );
}

/** The markdown section of RESULTS.md. */
export function deployBenchMarkdown(result: DeployBenchResult, provenance: { date: string; command: string; commit: string; machine: string }): string[] {
  const routers = result.routers.map(routerName).join(', ');
  const lines = [
    '## Deploys',
    '',
    `The orders service (Express, 3 instances) from v1 to v2 behind each router — ${routers} — under ${result.ratePerSecond} req/s on ${result.connections} keep-alive connections (\`GET /orders?limit=5\`, \`POST /orders\` and \`GET /slow?ms=${result.slowMs}\` in turn — a third of the requests wait ${result.slowMs} ms, as a call to another service would, so that about ${Math.round((result.ratePerSecond / 3) * (result.slowMs / 1000))} requests are in flight at any moment, and a process that dies takes its share with it — naming the API's newest version, so the Baton-served service moves no body between versions and both services do the same work per request), each scenario once, in one run. ` +
      "Baton's strategies deploy the Baton-served service (`examples/orders-express`). The non-strategies deploy a plain service as teams run them today (`bench/src/servers/plain-orders.ts`: the same routes over the same store and validation, `app.listen(process.env.PORT)`, a `/readyz` that answers 200 while the process runs, nothing on SIGTERM, so it dies at once): " +
      'kill then start (SIGKILL, the replacement put in the router as soon as it listens), switching the targets without drain (the new set started, every backend switched at once, the old set sent SIGTERM at once), restart in place (stop, then the new release on the same port; the router is never told). ' +
      "\"Baton rolling, plain\" is Baton's rolling deploy of that same plain service (`platform: { port: 'assign' }`): what the orchestration saves without the service's lifecycle. " +
      "The routers' own retries still hide some of the non-strategies' failures: the built-in router sends an idempotent request dropped before any response byte to another backend; HAProxy and nginx send a refused connection to another backend (`retries` + `redispatch`, `proxy_next_upstream error`). " +
      "nginx never marks a backend down (`max_fails=0`): with nginx's default of taking a backend whose connect failed out for a while, instances restarted in place one after another were all out at once and nginx answered 502 to everything (\"no live upstreams\"; 0 to 864 failed over seven runs while this bench was written), which is why the router no longer does. " +
      "Each scenario runs once, and a non-strategy's count depends on what is in flight at the instant a process dies: it moves a lot from run to run.",
    '',
    'Failed requests are counted per request: sent − complete 2xx responses − in flight when the load stopped (resets, non-2xx, timeouts, and requests lost on a closing connection, which autocannon does not count). ' +
      '"Deploy" runs until every old instance is out of traffic with nothing in flight; "until exited" adds the wait for the last old process to exit, which Baton does before it reports success. ' +
      "The limit is, per batch, the slowest instance's spawn-to-ready plus the slowest drain (from the deploy's own events); Baton's target is 0 failed and at most 1.3× the limit. " +
      "Router CPU: utime + stime of the router's processes (the built-in router's process; HAProxy's and nginx's master and every worker, those retired by a reload included) from the deploy's start until 1 s after its end, per 1,000 responses in the same window, and as a ratio to the built-in router's in the same scenario. " +
      'The machine is shared: compare ratios, not absolute figures.',
    '',
    `Measured ${provenance.date} at ${provenance.commit} with \`${provenance.command}\` on ${provenance.machine}; the machine's load average (1 min) was ${result.loadAverage.start.toFixed(1)} when the part started and ${result.loadAverage.end.toFixed(1)} when it ended.`,
    '',
  ];
  if (result.missing.length > 0) lines.push(`Not run: ${result.missing.map(({ router, reason }) => `${routerName(router)} (${reason})`).join('; ')}.`, '');
  lines.push(
    '| Router | Service | Scenario | failed | sent | deploy | until exited | limit | deploy / limit | router CPU per 1k req | vs built-in | what failed |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...result.rows.map((row) => {
      const cpu = cpuPerThousand(row);
      return `| ${[
        routerName(row.router),
        row.service === 'baton' ? 'Baton-served' : 'plain',
        row.scenario,
        String(row.failed),
        row.sent.toLocaleString('en-US'),
        `${row.deploySeconds.toFixed(2)} s`,
        `${row.totalSeconds.toFixed(2)} s`,
        row.limitSeconds === undefined ? '—' : `${row.limitSeconds.toFixed(2)} s`,
        ratio(row),
        cpu === undefined ? '—' : `${cpu.toFixed(0)} ms`,
        cpuVsBuiltin(result, row),
        Object.entries(row.detail)
          .map(([kind, count]) => `${count} ${kind}`)
          .join(', ') || '—',
      ].join(' | ')} |`;
    }),
    '',
    ...summary(result),
  );
  return lines;
}

/** Per router: failures of Baton's strategies and of the non-strategies, the worst time ratio, the router's CPU over every scenario. */
function summary(result: DeployBenchResult): string[] {
  const total = (rows: DeployBenchRow[]): string => `${rows.reduce((sum, row) => sum + row.failed, 0)} of ${rows.reduce((sum, row) => sum + row.sent, 0).toLocaleString('en-US')}`;
  const cpuOf = (rows: DeployBenchRow[]): number => (rows.reduce((sum, row) => sum + row.routerCpuSeconds, 0) * 1_000_000) / Math.max(1, rows.reduce((sum, row) => sum + row.responsesDuringDeploy, 0));
  const builtin = result.rows.filter((row) => row.router === 'builtin');
  return [
    'Per router, over the scenarios above:',
    '',
    "| Router | Baton's strategies, Baton-served: failed | Baton rolling, plain: failed | non-strategies, plain: failed | worst deploy / limit (Baton-served) | router CPU per 1k req, all scenarios | vs built-in |",
    '|---|---:|---:|---:|---:|---:|---:|',
    ...result.routers.map((router) => {
      const mine = result.rows.filter((row) => row.router === router);
      const served = mine.filter((row) => row.baton && row.service === 'baton');
      const worst = Math.max(...served.map((row) => (row.limitSeconds ? row.deploySeconds / row.limitSeconds : Number.NaN)));
      const cpu = cpuOf(mine);
      return `| ${routerName(router)} | ${total(served)} | ${total(mine.filter((row) => row.baton && row.service === 'plain'))} | ${total(mine.filter((row) => !row.baton))} | ${Number.isFinite(worst) ? `${worst.toFixed(2)}×` : '—'} | ${cpu.toFixed(0)} ms | ${builtin.length > 0 ? `${(cpu / cpuOf(builtin)).toFixed(2)}×` : '—'} |`;
    }),
    '',
  ];
}

/** Targets rows for RESULTS.md: Baton's strategies on the Baton-served service, every router. */
export function deployTargetRows(result: DeployBenchResult): string[] {
  const baton = result.rows.filter((row) => row.baton && row.service === 'baton');
  const failed = baton.reduce((sum, row) => sum + row.failed, 0);
  const worst = Math.max(...baton.map((row) => (row.limitSeconds ? row.deploySeconds / row.limitSeconds : Number.POSITIVE_INFINITY)));
  const routers = result.routers.map(routerName).join(', ');
  return [
    `| Deploys: Baton's strategies fail no request (${routers}) | 0 | ${failed} | ${failed === 0 ? 'met' : 'not met'} |`,
    `| Deploys: Baton's deploy time within 1.3× its physical limit (${routers}) | ≤ 1.3× | worst ${worst.toFixed(2)}× | ${worst <= 1.3 ? 'met' : 'not met'} |`,
  ];
}
