// The local-record cases use records written by a real `verifyProvider` run:
// a small node:http service served through Baton on 127.0.0.1 port 0 and the
// real Pact verifier, against pact files written here. Records for the cases
// a real run cannot produce cheaply (another version, many failures, a pending
// pact) are written with `writeVerificationRecord`, the same writer.
//
// No Pact Broker can run on this machine (a Ruby service with its own
// database; only the npm and Debian registries are reachable), so the broker
// cases start a node:http server on 127.0.0.1 port 0 that answers GET /matrix
// in the broker's documented shape (as @baton/contracts' can-i-deploy tests
// do). The HTTP is real; the broker's verdict is what each answer says.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineStates, verifyProvider, writeVerificationRecord, type VerificationResult } from '@baton/contracts';
import { createLifecycle, serve, silentLogger } from '@baton/lifecycle';
import { closeServers } from '@baton/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GateContext } from './gate.js';
import { checkContractsGate, DEFAULT_CONTRACTS_RESULTS, resolveContractsGate, type ContractsGateSettings } from './contracts-gate.js';

process.env['PACT_DO_NOT_TRACK'] ??= 'true';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'baton-contracts-gate-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function context(overrides: Partial<GateContext> = {}): GateContext {
  return {
    service: 'orders',
    environment: 'production',
    previousEnvironment: 'staging',
    release: { version: 'v2' },
    deployedReleases: ['v1'],
    releaseOrder: ['v1', 'v2'],
    cwd: root,
    env: {},
    now: () => Date.now(),
    ...overrides,
  };
}

function resolved(input: unknown): ContractsGateSettings {
  const problems: string[] = [];
  const settings = resolveContractsGate(input, 'gates.contracts', problems);
  expect(problems).toEqual([]);
  return settings as ContractsGateSettings;
}

describe('resolveContractsGate', () => {
  it('takes true as the defaults, false as off, and keeps the settings given', () => {
    expect(resolved(true)).toEqual({ results: DEFAULT_CONTRACTS_RESULTS });
    expect(DEFAULT_CONTRACTS_RESULTS).toBe('pacts/verification/{version}.json');
    expect(resolveContractsGate(false, 'gates.contracts', [])).toBeUndefined();
    expect(resolved({ results: 'reports/{version}/pact.json', provider: 'orders-api' })).toEqual({ results: 'reports/{version}/pact.json', provider: 'orders-api' });
    expect(resolved({ broker: {} })).toEqual({ results: DEFAULT_CONTRACTS_RESULTS, broker: { retries: 0, intervalMs: 10_000, timeoutMs: 10_000 } });
    expect(resolved({ broker: { url: 'https://pact.example.com/broker', pacticipant: 'orders-api', environment: 'prod', retries: 6, intervalMs: 5000, timeoutMs: 2000 } })).toEqual({
      results: DEFAULT_CONTRACTS_RESULTS,
      broker: { url: 'https://pact.example.com/broker', pacticipant: 'orders-api', environment: 'prod', retries: 6, intervalMs: 5000, timeoutMs: 2000 },
    });
  });

  it('names every problem with its field and what is accepted, and never echoes a credential', () => {
    const problems: string[] = [];
    const settings = resolveContractsGate(
      {
        results: 'pacts/{sha}.json',
        provider: '',
        resutls: 'x',
        broker: { url: 'https://ci:hunter2@pact.example.com', token: 'tok-123456', retries: -1, intervalMs: 'soon', timeoutMs: 0, env: 'prod' },
      },
      'environments.production.gates.contracts',
      problems,
    );
    expect(settings).toBeUndefined();
    const f = 'environments.production.gates.contracts';
    expect(problems).toEqual([
      `${f}.resutls: not a setting; known: results, provider, broker`,
      `${f}.results: only {version} (the release version) is replaced in the path; got {sha} in "pacts/{sha}.json"`,
      `${f}.provider: the provider name as the pacts write it (default the service name), a non-empty string; got ""`,
      `${f}.broker.token: credentials are not read from the config; set PACT_BROKER_TOKEN, or PACT_BROKER_USERNAME and PACT_BROKER_PASSWORD, in the environment`,
      `${f}.broker.env: not a setting; known: url, pacticipant, environment, retries, intervalMs, timeoutMs`,
      `${f}.broker.url: the Pact Broker's base URL, http: or https:, e.g. "https://pact-broker.example.com", without credentials (they come from PACT_BROKER_TOKEN, or PACT_BROKER_USERNAME and PACT_BROKER_PASSWORD); got a URL with a user name or password`,
      `${f}.broker.retries: an integer from 0 to 1000 (times to ask again while verification results are pending); got -1`,
      `${f}.broker.intervalMs: an integer from 0 to 600000 (ms between two asks while pending); got "soon"`,
      `${f}.broker.timeoutMs: an integer from 100 to 600000 (ms for one request to the broker); got 0`,
    ]);
    expect(problems.join('\n')).not.toMatch(/hunter2|tok-123456/);

    for (const [input, message] of [
      ['yes', 'gates.contracts: true (the defaults), false, or an object { results?, provider?, broker? }; got "yes"'],
      [{ results: 3 }, 'gates.contracts.results: the path of the verification record, relative to the config\'s directory, {version} standing for the release version (default "pacts/verification/{version}.json"); got 3'],
      [{ broker: 'https://pact.example.com' }, 'gates.contracts.broker: an object { url?, pacticipant?, environment?, retries?, intervalMs?, timeoutMs? } (credentials come from PACT_BROKER_TOKEN, or PACT_BROKER_USERNAME and PACT_BROKER_PASSWORD); got "https://pact.example.com"'],
      [{ broker: { url: 'ftp://pact.example.com' } }, 'gates.contracts.broker.url: the Pact Broker\'s base URL, http: or https:, e.g. "https://pact-broker.example.com"; got a ftp: URL'],
      [{ broker: { url: 'https://pact.example.com/?token=abc' } }, 'gates.contracts.broker.url: the Pact Broker\'s base URL, http: or https:, e.g. "https://pact-broker.example.com", without a query or fragment; got "https://pact.example.com/?…"'],
    ] as const) {
      const found: string[] = [];
      expect(resolveContractsGate(input, 'gates.contracts', found)).toBeUndefined();
      expect(found).toEqual([message]);
    }
  });
});

// ---------------------------------------------------------------- local records from a real verification

const PROVIDER = 'orders';

/** A pact file as Pact's consumer DSL writes one (V3). */
function pact(consumer: string, interactions: unknown[]): string {
  return JSON.stringify({ consumer: { name: consumer }, provider: { name: PROVIDER }, interactions, metadata: { pactSpecification: { version: '3.0.0' } } }, null, 2);
}

const WEB_PACT = pact('orders-web', [
  {
    description: 'a request for an order',
    providerStates: [{ name: 'order exists', params: { id: 'o1' } }],
    request: { method: 'GET', path: '/orders/o1' },
    response: {
      status: 200,
      headers: { 'Content-Type': 'application/json' },
      body: { id: 'o1', total: 42 },
      matchingRules: { body: { '$.id': { combine: 'AND', matchers: [{ match: 'type' }] }, '$.total': { combine: 'AND', matchers: [{ match: 'integer' }] } } },
    },
  },
  { description: 'a listing', request: { method: 'GET', path: '/orders' }, response: { status: 200 } },
]);
const MOBILE_PACT = pact('orders-mobile', [{ description: 'a request for an order total', providerStates: [{ name: 'order exists', params: { id: 'o1' } }], request: { method: 'GET', path: '/orders/o1' }, response: { status: 200, body: { total: 42 } } }]);

/** The provider: `breaking` renames `total`, which both consumers read. */
function handler(orders: Map<string, number>, breaking: boolean): RequestListener {
  return (req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/orders') return void res.end(JSON.stringify([...orders.keys()].map((id) => ({ id }))));
    const id = /^\/orders\/([^/]+)$/.exec(req.url ?? '')?.[1];
    const total = id === undefined ? undefined : orders.get(id);
    if (id === undefined || total === undefined) return void res.writeHead(404).end('{"error":"not found"}');
    res.end(JSON.stringify(breaking ? { id, amount: total } : { id, total }));
  };
}

let pactDir: string;
beforeAll(async () => {
  pactDir = await mkdtemp(join(tmpdir(), 'baton-contracts-gate-pacts-'));
  await writeFile(join(pactDir, 'orders-web-orders.json'), WEB_PACT);
  await writeFile(join(pactDir, 'orders-mobile-orders.json'), MOBILE_PACT);
});
afterAll(async () => {
  if (pactDir) await rm(pactDir, { recursive: true, force: true });
});

/** Verifies the provider for real, writing the record where the gate's default settings look for it. */
async function verify(version: string, { breaking = false } = {}): Promise<VerificationResult> {
  const orders = new Map<string, number>();
  const states = defineStates<{ 'order exists': { id: string } }>()({
    'order exists': { setup: ({ id }) => void orders.set(id, 42), teardown: () => orders.clear() },
  });
  return verifyProvider({
    start: () =>
      serve({
        handler: handler(orders, breaking),
        lifecycle: createLifecycle({ shutdown: { propagationDelayMs: 0 }, logger: silentLogger }),
        port: 0,
        host: '127.0.0.1',
        signals: false,
        exit: false,
      }),
    provider: PROVIDER,
    pacts: { dir: pactDir },
    states,
    providerVersion: version,
    resultsFile: join(root, 'pacts', 'verification', `${version}.json`),
    logLevel: 'error',
  });
}

describe('checkContractsGate with the local verification record', () => {
  it('passes a release whose record passed, one line of evidence per consumer', async () => {
    const verification = await verify('v2');
    expect(verification.passed, verification.summary).toBe(true);

    const result = await checkContractsGate(resolved(true), context());

    expect(result.status).toBe('pass');
    expect(result.gate).toBe('contracts');
    expect(result.summary).toMatch(/^orders v2 passed provider verification: 3 interaction\(s\) with 2 consumers verified at \S+ \(pacts\/verification\/v2\.json\)\.$/);
    expect(result.evidence).toHaveLength(2);
    expect(result.evidence[0]).toMatch(new RegExp(`^orders-mobile: 1 interaction verified at \\S+, pact ${join(pactDir, 'orders-mobile-orders.json')} \\(sha256 [0-9a-f]{12}\\)$`));
    expect(result.evidence[1]).toMatch(/^orders-web: 2 interactions verified at /);
    expect(result.data).toMatchObject({ source: 'record', provider: 'orders', providerVersion: 'v2', passed: true, counts: { interactions: 3, passed: 3, failed: 0, pendingFailed: 0 } });
  });

  it('fails a release whose verification failed, naming the interactions and why', async () => {
    const verification = await verify('v2', { breaking: true });
    expect(verification.passed).toBe(false);

    const result = await checkContractsGate({ results: 'pacts/verification/{version}.json', provider: 'orders' }, context());

    expect(result.status).toBe('fail');
    expect(result.summary).toMatch(/^2 of 3 interaction\(s\) of orders v2 failed provider verification at \S+ \(pacts\/verification\/v2\.json\)\.$/);
    expect(result.evidence).toHaveLength(2);
    expect(result.evidence.find((line) => line.startsWith('✗ orders-web: a request for an order — '))).toMatch(/total/);
    expect(result.evidence.find((line) => line.startsWith('✗ orders-mobile: a request for an order total — '))).toMatch(/total/);
  });

  it('fails when there is no record, saying where it looked and how to write one', async () => {
    const result = await checkContractsGate(resolved(true), context({ release: { version: 'v7' } }));
    const file = join(root, 'pacts', 'verification', 'v7.json');
    expect(result.status).toBe('fail');
    expect(result.summary).toBe(`No verification record for orders v7: ${file} does not exist.`);
    expect(result.evidence).toEqual([
      `Looked for ${file} (gates.contracts.results: "pacts/verification/{version}.json", relative to ${root}).`,
      "Write it where the provider is verified: verifyProvider({ ..., provider: 'orders', providerVersion: 'v7', resultsFile: 'pacts/verification/v7.json' }) from @baton/contracts.",
      'Or ask a Pact Broker instead: gates.contracts.broker.',
    ]);
  });

  it('fails on a record of another version or another provider', async () => {
    const passed: VerificationResult = { passed: true, interactions: [{ consumer: 'orders-web', description: 'a listing', status: 'passed', failures: [] }], summary: '', raw: null };
    // A fixed path, without {version}: the record itself must say which release it is of.
    await writeVerificationRecord(passed, join(root, 'reports', 'pact.json'), { provider: 'orders', providerVersion: 'v1', verifiedAt: new Date('2026-12-01T00:00:00Z') });
    const other = await checkContractsGate({ results: 'reports/pact.json' }, context());
    expect(other.status).toBe('fail');
    expect(other.summary).toBe('The verification record reports/pact.json is of orders v1, not of the release being deployed (v2).');
    expect(other.evidence).toEqual(["v1 was verified at 2026-12-01T00:00:00.000Z; verify v2 with verifyProvider({ ..., providerVersion: 'v2', resultsFile: 'reports/pact.json' })."]);

    await writeVerificationRecord(passed, join(root, 'reports', 'pact.json'), { provider: 'orders-api', providerVersion: 'v2' });
    const provider = await checkContractsGate({ results: 'reports/pact.json' }, context());
    expect(provider.status).toBe('fail');
    expect(provider.summary).toBe('The verification record reports/pact.json is of provider "orders-api", not "orders".');
    expect((await checkContractsGate({ results: 'reports/pact.json', provider: 'orders-api' }, context())).status).toBe('pass');
  });

  it('fails on a record that is not one, with the reader\'s reason', async () => {
    await mkdir(join(root, 'pacts', 'verification'), { recursive: true });
    await writeFile(join(root, 'pacts', 'verification', 'v2.json'), '{"formatVersion":1,"provider":"orders"}');
    const result = await checkContractsGate(resolved(true), context());
    expect(result.status).toBe('fail');
    expect(result.summary).toMatch(/^The verification record for orders v2 cannot be used: readVerificationRecord: .*v2\.json is not a verification record .*"providerVersion" must be/);
  });

  it('lists the first ten failing interactions and counts the rest; failed pending pacts are noted and do not fail', async () => {
    const failures: VerificationResult['interactions'] = Array.from({ length: 13 }, (_, i) => ({ consumer: 'orders-web', description: `interaction ${i + 1}`, status: 'failed', failures: [`BodyMismatch at $.n: expected ${i + 1}`] }));
    const pendingFailure = { consumer: 'orders-beta', description: 'a new field', status: 'failed' as const, pending: true, failures: ['BodyMismatch at $.beta: missing'] };
    const file = join(root, 'pacts', 'verification', 'v2.json');
    await writeVerificationRecord({ passed: false, interactions: [...failures, pendingFailure], summary: '13 of 14 interaction(s) failed', raw: null }, file, { provider: 'orders', providerVersion: 'v2' });
    const failed = await checkContractsGate(resolved(true), context());
    expect(failed.status).toBe('fail');
    expect(failed.evidence.slice(0, 11)).toEqual([...Array.from({ length: 10 }, (_, i) => `✗ orders-web: interaction ${i + 1} — BodyMismatch at $.n: expected ${i + 1}`), 'and 3 more failed interaction(s)']);
    expect(failed.evidence.slice(11)).toEqual([
      '1 interaction(s) of pending pacts failed; as in Pact, they do not fail the gate:',
      '  (pending) orders-beta: a new field — BodyMismatch at $.beta: missing',
    ]);

    const passing = { consumer: 'orders-web', description: 'a listing', status: 'passed' as const, failures: [] };
    await writeVerificationRecord({ passed: true, interactions: [passing, pendingFailure], summary: '', raw: null }, file, { provider: 'orders', providerVersion: 'v2' });
    const pass = await checkContractsGate(resolved(true), context());
    expect(pass.status).toBe('pass');
    expect(pass.evidence).toEqual([
      expect.stringMatching(/^orders-web: 1 interaction verified at /),
      expect.stringMatching(/^orders-beta: 0 of 1 interaction verified \(the rest of pending pacts\) at /),
      '1 interaction(s) of pending pacts failed; as in Pact, they do not fail the gate:',
      '  (pending) orders-beta: a new field — BodyMismatch at $.beta: missing',
    ]);
  });

  it('fails, saying what to install, when @baton/contracts is missing', async () => {
    const missing = Object.assign(new Error("Cannot find package '@baton/contracts' imported from /srv/app/node_modules/@baton/deploy/dist/gates/contracts-gate.js"), { code: 'ERR_MODULE_NOT_FOUND' });
    const result = await checkContractsGate(resolved(true), context(), { importContracts: () => Promise.reject(missing) });
    expect(result).toEqual({
      gate: 'contracts',
      status: 'fail',
      summary: 'The contracts gate needs @baton/contracts, which is not installed: install it next to @baton/deploy (npm install --save-dev @baton/contracts).',
      evidence: [missing.message],
    });
  });
});

// ---------------------------------------------------------------- a Pact Broker

interface SeenRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
}

const servers: Server[] = [];
afterEach(() => closeServers(servers));

async function startBroker(answer: (n: number, res: ServerResponse) => void): Promise<{ url: string; seen: SeenRequest[] }> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: new URL(req.url ?? '/', 'http://broker'), headers: req.headers });
    answer(seen.length - 1, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/hal+json;charset=utf-8' });
  res.end(JSON.stringify(body));
}

/** A matrix row as the broker writes it; `success` null = not verified yet. */
function row(consumer: [string, string], provider: [string, string], success: boolean | null): Record<string, unknown> {
  const base = 'http://broker';
  return {
    consumer: { name: consumer[0], version: { number: consumer[1], branch: 'main', tags: [] }, _links: {} },
    provider: { name: provider[0], version: success === null ? null : { number: provider[1], branch: 'main', tags: [] }, _links: {} },
    pact: { createdAt: '2026-12-01T10:00:00+00:00', _links: {} },
    verificationResult: success === null ? null : { success, verifiedAt: '2026-12-01T10:05:00+00:00', _links: { self: { href: `${base}/verification-results/${consumer[0]}` } } },
  };
}

function matrix(rows: Record<string, unknown>[], reason: string): Record<string, unknown> {
  const outcome = (r: Record<string, unknown>) => (r['verificationResult'] as { success: boolean } | null)?.success ?? null;
  const failed = rows.filter((r) => outcome(r) === false).length;
  const unknown = rows.filter((r) => outcome(r) === null).length;
  return {
    summary: { deployable: unknown > 0 ? null : failed === 0, reason, success: rows.filter((r) => outcome(r) === true).length, failed, unknown },
    notices: [],
    matrix: rows,
  };
}

describe('checkContractsGate with a Pact Broker', () => {
  it('asks about this release and environment with the token from the environment, and passes on yes', async () => {
    const broker = await startBroker((_n, res) =>
      json(res, 200, matrix([row(['orders-web', '5.1.0'], ['orders', 'v2'], true), row(['orders-mobile', '3.0.0'], ['orders', 'v2'], true)], 'All required verification results are published and successful')),
    );
    const result = await checkContractsGate(resolved({ broker: { url: `${broker.url}/` } }), context({ env: { PACT_BROKER_TOKEN: 'tok-secret-1' } }));

    expect(broker.seen).toHaveLength(1);
    const [request] = broker.seen;
    expect(request?.method).toBe('GET');
    expect(request?.url.pathname).toBe('/matrix');
    expect(request?.url.searchParams.getAll('q[][pacticipant]')).toEqual(['orders']);
    expect(request?.url.searchParams.getAll('q[][version]')).toEqual(['v2']);
    expect(request?.url.searchParams.get('environment')).toBe('production');
    expect(request?.headers.authorization).toBe('Bearer tok-secret-1');

    expect(result.status).toBe('pass');
    expect(result.summary).toBe(`orders v2 can be deployed to production: the Pact Broker at ${broker.url} says yes (2 pairs verified).`);
    expect(result.evidence).toEqual([
      'orders-web 5.1.0 (consumer) verified by orders v2 (provider) at 2026-12-01T10:05:00+00:00 — http://broker/verification-results/orders-web',
      'orders-mobile 3.0.0 (consumer) verified by orders v2 (provider) at 2026-12-01T10:05:00+00:00 — http://broker/verification-results/orders-mobile',
      'Broker: All required verification results are published and successful',
    ].map((line) => (line.startsWith('Broker') ? line : `✓ ${line}`)));
    expect(result.data).toMatchObject({ source: 'broker', broker: broker.url, pacticipant: 'orders', version: 'v2', environment: 'production', deployable: true, counts: { success: 2, failed: 0, unknown: 0 }, attempts: 1 });
    expect(JSON.stringify(result)).not.toContain('tok-secret-1');
  });

  it('fails on no, with the failed pairs and the broker\'s reason; takes the URL from PACT_BROKER_BASE_URL and Basic credentials', async () => {
    const reason = 'The verification for the pact between orders-web 5.1.0 and orders v2 failed';
    const broker = await startBroker((_n, res) => json(res, 200, matrix([row(['orders-web', '5.1.0'], ['orders', 'v2'], false), row(['orders-mobile', '3.0.0'], ['orders', 'v2'], true)], reason)));
    const env = { PACT_BROKER_BASE_URL: broker.url, PACT_BROKER_USERNAME: 'ci', PACT_BROKER_PASSWORD: 'pw-secret-2' };
    const result = await checkContractsGate(resolved({ provider: 'orders-api', broker: { environment: 'prod' } }), context({ env }));

    const [request] = broker.seen;
    expect(request?.url.searchParams.getAll('q[][pacticipant]')).toEqual(['orders-api']);
    expect(request?.url.searchParams.get('environment')).toBe('prod');
    expect(request?.headers.authorization).toBe(`Basic ${Buffer.from('ci:pw-secret-2').toString('base64')}`);

    expect(result.status).toBe('fail');
    expect(result.summary).toBe(`orders-api v2 cannot be deployed to prod: the Pact Broker at ${broker.url} says no (1 failed, 0 pending).`);
    expect(result.evidence).toEqual([
      '✗ orders-web 5.1.0 (consumer) failed verification by orders v2 (provider) at 2026-12-01T10:05:00+00:00 — http://broker/verification-results/orders-web',
      `Broker: ${reason}`,
    ]);
    expect(result.data).toMatchObject({ deployable: false, counts: { success: 1, failed: 1, unknown: 0 } });
    expect(JSON.stringify(result)).not.toMatch(/pw-secret-2|Y2k6cHctc2VjcmV0LTI/);
  });

  it('fails while the broker cannot tell yet, after asking again as many times as configured', async () => {
    const reason = 'There is no verified pact between orders-web 5.1.0 and orders v2';
    const broker = await startBroker((_n, res) => json(res, 200, matrix([row(['orders-web', '5.1.0'], ['orders', 'v2'], null)], reason)));
    const result = await checkContractsGate(resolved({ broker: { url: broker.url, retries: 2, intervalMs: 0 } }), context());
    expect(broker.seen).toHaveLength(3);
    expect(result.status).toBe('fail');
    expect(result.summary).toBe(
      `the Pact Broker at ${broker.url} cannot tell yet whether orders v2 can be deployed to production: 1 pair not verified yet after 3 attempts; an unchecked release does not pass (gates.contracts.broker.retries waits for them).`,
    );
    expect(result.evidence).toEqual(['… orders-web 5.1.0 (consumer) not yet verified by orders (provider)', `Broker: ${reason}`]);
    expect(result.data).toMatchObject({ deployable: null, attempts: 3 });
  });

  it('fails when the broker cannot be asked: down, or refusing the token, which never shows', async () => {
    const down = await startBroker(() => {});
    await closeServers(servers); // its port is now closed: connection refused
    const refused = await checkContractsGate(resolved({ broker: { url: down.url, timeoutMs: 5000 } }), context());
    expect(refused.status).toBe('fail');
    expect(refused.summary).toBe('Could not ask the Pact Broker whether orders v2 can be deployed to production; an unchecked release does not pass.');
    expect(refused.evidence[0]).toMatch(new RegExp(`could not reach the Pact Broker at ${down.url}/matrix: .*ECONNREFUSED`));

    // A broker (or a proxy) that echoes the request's credentials in its error.
    const echoing = await startBroker((_n, res) => json(res, 401, { error: `bad token in header: ${'Bearer tok-secret-3'}` }));
    const unauthorized = await checkContractsGate(resolved({ broker: { url: echoing.url } }), context({ env: { PACT_BROKER_TOKEN: 'tok-secret-3' } }));
    expect(unauthorized.status).toBe('fail');
    expect(unauthorized.evidence[0]).toMatch(/answered 401.*the credentials in `auth` were refused/);
    expect(JSON.stringify(unauthorized)).not.toContain('tok-secret-3');

    const noUrl = await checkContractsGate(resolved({ broker: {} }), context());
    expect(noUrl).toEqual({
      gate: 'contracts',
      status: 'fail',
      summary: 'Cannot ask the Pact Broker whether orders v2 can be deployed to production: no broker URL.',
      evidence: ['Set gates.contracts.broker.url, or PACT_BROKER_BASE_URL in the environment.'],
    });
  });
});
