// No Pact Broker can run on this machine (it is a Ruby service with its own
// database, and nothing outside the npm and Debian registries is reachable),
// so these tests start a small local node:http server on 127.0.0.1 port 0 that
// answers GET /matrix with the broker's documented response shapes (a
// `summary` of deployable/reason/success/failed/unknown and `matrix` rows as
// the broker's matrix decorator writes them). The HTTP is real: real fetch,
// real sockets, real status codes; the broker's decision itself is what each
// fixture says, not a simulation of the broker's logic.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BatonError } from '@baton/lifecycle';
import { closeServers } from '@baton/testing';
import { canIDeploy, describeCanIDeploy, type CanIDeployOptions } from './can-i-deploy.js';

interface SeenRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
}

/** What the fake broker answers to its n-th request (0-based). */
type Answer = (n: number, request: SeenRequest, res: ServerResponse) => void;

interface FakeBroker {
  url: string;
  seen: SeenRequest[];
}

const servers: Server[] = [];

afterEach(() => closeServers(servers));

async function startBroker(answer: Answer): Promise<FakeBroker> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const request = { method: req.method ?? '', url: new URL(req.url ?? '/', 'http://broker'), headers: req.headers };
    seen.push(request);
    answer(seen.length - 1, request, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/hal+json;charset=utf-8' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

/** A matrix row as the broker writes it; `success` null = not verified yet. */
function row(consumer: [string, string], provider: [string, string | null], success: boolean | null): Record<string, unknown> {
  const [consumerName, consumerVersion] = consumer;
  const [providerName, providerVersion] = provider;
  const base = 'http://broker';
  return {
    consumer: {
      name: consumerName,
      version: { number: consumerVersion, branch: 'main', _links: { self: { href: `${base}/pacticipants/${consumerName}/versions/${consumerVersion}` } }, tags: [] },
      _links: { self: { href: `${base}/pacticipants/${consumerName}` } },
    },
    provider: {
      name: providerName,
      version:
        providerVersion === null
          ? null
          : { number: providerVersion, branch: 'main', _links: { self: { href: `${base}/pacticipants/${providerName}/versions/${providerVersion}` } }, tags: [] },
      _links: { self: { href: `${base}/pacticipants/${providerName}` } },
    },
    pact: { createdAt: '2026-11-26T20:00:00+00:00', _links: { self: { href: `${base}/pacts/provider/${providerName}/consumer/${consumerName}/version/${consumerVersion}` } } },
    verificationResult:
      success === null
        ? null
        : {
            success,
            verifiedAt: '2026-11-26T20:05:00+00:00',
            _links: { self: { href: `${base}/pacts/provider/${providerName}/consumer/${consumerName}/pact-version/abc/verification-results/7` } },
          },
  };
}

/** A whole /matrix answer, with the summary a broker would give for these rows. */
function matrix(rows: Record<string, unknown>[], reason: string): Record<string, unknown> {
  const outcome = (r: Record<string, unknown>): boolean | null => (r.verificationResult as { success: boolean } | null)?.success ?? null;
  const success = rows.filter((r) => outcome(r) === true).length;
  const failed = rows.filter((r) => outcome(r) === false).length;
  const unknown = rows.filter((r) => outcome(r) === null).length;
  return {
    summary: { deployable: unknown > 0 ? null : failed === 0, reason, success, failed, unknown },
    notices: [{ type: unknown > 0 ? 'warning' : 'info', text: reason }],
    matrix: rows,
  };
}

const ALL_GOOD = 'All required verification results are published and successful';
const PENDING = 'There is no verified pact between the version of web from 2.0.0 and the version of orders currently in production (1.2.3)';

async function rejection(promise: Promise<unknown>): Promise<BatonError> {
  const error = await promise.then(
    () => {
      throw new Error('expected canIDeploy to reject, but it resolved');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BatonError);
  return error as BatonError;
}

describe('canIDeploy', () => {
  it('says yes when every pair is verified, asking the broker for exactly this version and environment', async () => {
    const broker = await startBroker((_n, _req, res) =>
      json(res, 200, matrix([row(['web', '2.0.0'], ['orders', '1.2.3'], true), row(['orders', '1.2.3'], ['billing', '4.5.6'], true)], ALL_GOOD)),
    );

    const result = await canIDeploy({ brokerUrl: broker.url, pacticipant: 'orders', version: '1.2.3', toEnvironment: 'production' });

    expect(result.deployable).toBe(true);
    expect(result.attempts).toBe(1);
    expect(result.reason).toBe(ALL_GOOD);
    expect(result.counts).toEqual({ success: 2, failed: 0, unknown: 0, ignored: 0 });
    expect(result.rows[0]).toEqual({
      consumer: { name: 'web', version: '2.0.0' },
      provider: { name: 'orders', version: '1.2.3' },
      outcome: 'success',
      verifiedAt: '2026-11-26T20:05:00+00:00',
      verificationUrl: 'http://broker/pacts/provider/orders/consumer/web/pact-version/abc/verification-results/7',
      ignored: false,
    });
    expect(result.notices).toEqual([{ type: 'info', text: ALL_GOOD }]);

    expect(broker.seen).toHaveLength(1);
    const [request] = broker.seen;
    expect(request?.method).toBe('GET');
    expect(request?.url.pathname).toBe('/matrix');
    expect([...(request?.url.searchParams ?? [])]).toEqual([
      ['q[][pacticipant]', 'orders'],
      ['q[][version]', '1.2.3'],
      ['latestby', 'cvp'],
      ['environment', 'production'],
    ]);
    expect(request?.headers.authorization).toBeUndefined();
    expect(describeCanIDeploy(result)).toBe(`Can I deploy? Yes. 2 pairs checked: 2 verified, 0 failed, 0 pending. Broker: ${ALL_GOOD}.`);
  });

  it('says no and names the failing pair in the summary', async () => {
    const reason = 'The verification for the pact between version 2.0.0 of web and the version of orders currently in production (1.2.3) failed';
    const broker = await startBroker((_n, _req, res) =>
      json(res, 200, matrix([row(['web', '2.0.0'], ['orders', '1.2.3'], false), row(['orders', '1.2.3'], ['billing', '4.5.6'], true)], reason)),
    );

    const result = await canIDeploy({ brokerUrl: broker.url, pacticipant: 'web', version: '2.0.0', toEnvironment: 'production', retries: 3, intervalMs: 10 });

    expect(result.deployable).toBe(false);
    // A definite answer is not retried.
    expect(result.attempts).toBe(1);
    expect(broker.seen).toHaveLength(1);
    expect(result.counts).toEqual({ success: 1, failed: 1, unknown: 0, ignored: 0 });
    expect(result.rows.map((r) => r.outcome)).toEqual(['failed', 'success']);
    const summary = describeCanIDeploy(result);
    expect(summary).toMatch(/^Can I deploy\? No\. 2 pairs checked: 1 verified, 1 failed, 0 pending\./);
    expect(summary).toContain('Failed: web 2.0.0 (consumer) by orders 1.2.3 (provider), verified at 2026-11-26T20:05:00+00:00.');
    expect(summary).toContain(`Broker: ${reason}.`);
    expect(summary).not.toContain('billing');
  });

  it('asks again while verification is pending and says yes once the result is published', async () => {
    const pending = matrix([row(['web', '2.0.0'], ['orders', null], null)], PENDING);
    const verified = matrix([row(['web', '2.0.0'], ['orders', '1.2.3'], true)], ALL_GOOD);
    const broker = await startBroker((n, _req, res) => json(res, 200, n < 2 ? pending : verified));

    const result = await canIDeploy({ brokerUrl: broker.url, pacticipant: 'web', version: '2.0.0', toEnvironment: 'production', retries: 5, intervalMs: 20 });

    expect(result.deployable).toBe(true);
    expect(result.attempts).toBe(3);
    expect(broker.seen).toHaveLength(3);
    // Every attempt asks the same question.
    expect(new Set(broker.seen.map((r) => r.url.search)).size).toBe(1);
  });

  it('gives up after retries + 1 attempts with deployable undefined while results stay pending, and stops asking', async () => {
    const broker = await startBroker((_n, _req, res) => json(res, 200, matrix([row(['web', '2.0.0'], ['orders', null], null)], PENDING)));

    const result = await canIDeploy({ brokerUrl: broker.url, pacticipant: 'web', version: '2.0.0', toEnvironment: 'production', retries: 2, intervalMs: 10 });

    expect(result.deployable).toBeUndefined();
    expect(result.attempts).toBe(3);
    expect(result.counts.unknown).toBe(1);
    expect(result.rows[0]?.outcome).toBe('unknown');
    expect(result.rows[0]?.provider).toEqual({ name: 'orders', version: undefined });
    // Bounded: no request after the answer.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(broker.seen).toHaveLength(3);
    const summary = describeCanIDeploy(result);
    expect(summary).toMatch(/^Can I deploy\? Unknown: verification results are still pending after 3 attempts\./);
    expect(summary).toContain('Pending: web 2.0.0 (consumer) not yet verified by orders (provider).');
  });

  it('sends several selectors and a target tag in the broker’s query form', async () => {
    const broker = await startBroker((_n, _req, res) => json(res, 200, matrix([row(['web', '2.0.0'], ['orders', '1.2.3'], true)], ALL_GOOD)));

    await canIDeploy({
      brokerUrl: `${broker.url}/pact`,
      pacticipants: [
        { name: 'web', version: '2.0.0' },
        { name: 'orders', latest: true, branch: 'main' },
      ],
      toTag: 'prod',
    });

    const [request] = broker.seen;
    // A path prefix of the broker is kept, with or without a trailing slash.
    expect(request?.url.pathname).toBe('/pact/matrix');
    expect([...(request?.url.searchParams ?? [])]).toEqual([
      ['q[][pacticipant]', 'web'],
      ['q[][version]', '2.0.0'],
      ['q[][pacticipant]', 'orders'],
      ['q[][latest]', 'true'],
      ['q[][branch]', 'main'],
      ['latestby', 'cvpv'],
      ['latest', 'true'],
      ['tag', 'prod'],
    ]);
  });

  it('sends the token as Bearer and keeps it out of the error when the broker refuses it (401)', async () => {
    const token = 'pb-secret-token-93f1';
    // A broker (or a proxy before it) that echoes the request must not carry the token into our message.
    const broker = await startBroker((_n, req, res) => json(res, 401, { error: { message: `Bad credentials: ${req.headers.authorization}` } }));

    const error = await rejection(canIDeploy({ brokerUrl: broker.url, pacticipant: 'web', version: '2.0.0', auth: { token } }));

    expect(broker.seen[0]?.headers.authorization).toBe(`Bearer ${token}`);
    expect(error.code).toBe('BATON_ERR_BROKER');
    expect(error.message).toContain(`the Pact Broker at ${broker.url}/matrix answered 401 Unauthorized`);
    expect(error.message).toContain('Bad credentials: Bearer [redacted]');
    expect(error.message).toContain('the credentials in `auth` were refused');
    expect(error.message).not.toContain(token);
    expect(JSON.stringify(error)).not.toContain(token);
  });

  it('sends a user name and password as Basic and keeps both secrets out of the error', async () => {
    const password = 's3cr3t-pw-7781';
    const basic = Buffer.from(`ci:${password}`).toString('base64');
    const broker = await startBroker((_n, req, res) => {
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end(`Forbidden for ${req.headers.authorization} (password ${password})`);
    });

    const error = await rejection(canIDeploy({ brokerUrl: broker.url, pacticipant: 'web', version: '2.0.0', auth: { username: 'ci', password } }));

    expect(broker.seen[0]?.headers.authorization).toBe(`Basic ${basic}`);
    expect(error.code).toBe('BATON_ERR_BROKER');
    expect(error.message).toContain('answered 403 Forbidden');
    expect(error.message).not.toContain(password);
    expect(error.message).not.toContain(basic);
  });

  it('says when the broker wants credentials and none were given', async () => {
    const broker = await startBroker((_n, _req, res) => json(res, 401, { error: { message: 'Authentication required' } }));

    const error = await rejection(canIDeploy({ brokerUrl: broker.url, pacticipant: 'web', version: '2.0.0' }));

    expect(error.message).toContain('answered 401 Unauthorized: Authentication required — it wants credentials and none were given (set `auth`).');
  });

  it('reports a 500 with the broker’s own error message, without retrying it', async () => {
    const broker = await startBroker((_n, _req, res) => json(res, 500, { errors: ['Database connection lost'] }));

    const error = await rejection(canIDeploy({ brokerUrl: broker.url, pacticipant: 'web', version: '2.0.0', retries: 3, intervalMs: 10 }));

    expect(error.code).toBe('BATON_ERR_BROKER');
    expect(error.message).toBe(`canIDeploy: the Pact Broker at ${broker.url}/matrix answered 500 Internal Server Error (attempt 1 of 4): Database connection lost.`);
    expect(broker.seen).toHaveLength(1);
  });

  it('reports a 404 with a hint about brokerUrl', async () => {
    const broker = await startBroker((_n, _req, res) => json(res, 404, { errors: { q: ['No pacticipant with name "wbe" found'] } }));

    const error = await rejection(canIDeploy({ brokerUrl: broker.url, pacticipant: 'wbe', version: '2.0.0' }));

    expect(error.message).toContain('answered 404 Not Found: q: No pacticipant with name "wbe" found');
    expect(error.message).toContain("check that `brokerUrl` is the broker's base URL");
  });

  it('reports a body that is not JSON, with an excerpt of it', async () => {
    const broker = await startBroker((_n, _req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>Sign in to continue</body></html>');
    });

    const error = await rejection(canIDeploy({ brokerUrl: broker.url, pacticipant: 'web', version: '2.0.0' }));

    expect(error.code).toBe('BATON_ERR_BROKER');
    expect(error.message).toBe(`canIDeploy: the Pact Broker at ${broker.url}/matrix answered 200 with a body that is not JSON: <html><body>Sign in to continue</body></html>.`);
  });

  it('reports JSON in an unexpected shape, naming the field', async () => {
    const answers: unknown[] = [
      { summary: { deployable: 'yes', reason: '', success: 1, failed: 0, unknown: 0 }, matrix: [] },
      { summary: { deployable: true, reason: '', success: 1, failed: 0 }, matrix: {} },
      { summary: { deployable: true, reason: '', success: 1, failed: 0 }, matrix: [{ consumer: { name: 'web' }, provider: { name: 'orders', version: null } }] },
      [],
    ];
    const broker = await startBroker((n, _req, res) => json(res, 200, answers[n]));

    const messages: string[] = [];
    for (let i = 0; i < answers.length; i++) {
      const error = await rejection(canIDeploy({ brokerUrl: broker.url, pacticipant: 'web', version: '2.0.0' }));
      expect(error.code).toBe('BATON_ERR_BROKER');
      messages.push(error.message);
    }
    expect(messages[0]).toContain('answered JSON this client does not understand: "summary.deployable" must be true, false or null; got "yes".');
    expect(messages[1]).toContain('"matrix" must be an array; got an object');
    expect(messages[2]).toContain('"matrix[0].consumer.version.number" must be a string');
    expect(messages[3]).toContain('expected an object with "summary" and "matrix"; got an array');
  });

  it('reports a broker that cannot be reached', async () => {
    // A port that was just free: listen, read it back, close.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    const error = await rejection(canIDeploy({ brokerUrl: `http://127.0.0.1:${port}`, pacticipant: 'web', version: '2.0.0', auth: { token: 'tkn-unreachable-1' } }));

    expect(error.code).toBe('BATON_ERR_BROKER');
    expect(error.message).toMatch(new RegExp(`^canIDeploy: could not reach the Pact Broker at http://127\\.0\\.0\\.1:${port}/matrix: .*ECONNREFUSED`));
    expect(error.message).not.toContain('tkn-unreachable-1');
  });

  it('gives up on a request that takes longer than timeoutMs', async () => {
    // Never answers; afterEach closes the connection.
    const broker = await startBroker(() => {});

    const error = await rejection(canIDeploy({ brokerUrl: broker.url, pacticipant: 'web', version: '2.0.0', timeoutMs: 150 }));

    expect(error.code).toBe('BATON_ERR_BROKER');
    expect(error.message).toBe(`canIDeploy: the Pact Broker at ${broker.url}/matrix did not answer within 150 ms.`);
  });

  it('stops waiting between attempts when the signal aborts, with the signal’s reason', async () => {
    const broker = await startBroker((_n, _req, res) => json(res, 200, matrix([row(['web', '2.0.0'], ['orders', null], null)], PENDING)));
    const controller = new AbortController();
    const reason = new Error('deploy cancelled');

    const pending = canIDeploy({ brokerUrl: broker.url, pacticipant: 'web', version: '2.0.0', retries: 100, intervalMs: 60_000, signal: controller.signal });
    while (broker.seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // Let the first answer arrive, so the client is in its wait.
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort(reason);

    await expect(pending).rejects.toBe(reason);
    expect(broker.seen).toHaveLength(1);
  });

  it('refuses bad options before any request, saying what is accepted', async () => {
    const broker = await startBroker((_n, _req, res) => json(res, 200, matrix([], ALL_GOOD)));
    const good: CanIDeployOptions = { brokerUrl: broker.url, pacticipant: 'web', version: '2.0.0' };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ brokerUrl: undefined }, /`brokerUrl` is required: the Pact Broker's base URL/],
      [{ brokerUrl: '' }, /`brokerUrl` is required/],
      [{ brokerUrl: 'not a url' }, /`brokerUrl` is not a valid URL/],
      [{ brokerUrl: 'ftp://broker.example.com' }, /must be an http: or https: URL; got a ftp: URL/],
      [{ brokerUrl: 'https://ci:hunter2@broker.example.com' }, /must not carry credentials; give them as `auth/],
      [{ retries: -1 }, /`retries` must be a whole number, 0 or more; got -1/],
      [{ retries: 1.5 }, /`retries` must be a whole number, 0 or more; got 1\.5/],
      [{ intervalMs: -5 }, /`intervalMs` must be zero or a positive number/],
      [{ timeoutMs: 0 }, /`timeoutMs` must be a positive number of milliseconds; got 0/],
      [{ version: undefined }, /`version` of "web" must be a non-empty string/],
      [{ pacticipant: undefined, version: undefined }, /give the application to deploy/],
      [{ pacticipants: [{ name: 'web', version: '1' }] }, /give `pacticipant` \+ `version` or `pacticipants`, not both/],
      [{ pacticipant: undefined, version: undefined, pacticipants: [{ name: 'web' }] }, /`pacticipants\[0\]` \("web"\) needs `version` or `latest: true`/],
      [{ toEnvironment: 'production', toTag: 'prod' }, /give `toEnvironment` or `toTag`, not both/],
      [{ auth: { token: 'a\r\nX-Evil: 1' } }, /`auth.token` must be a non-empty string without line breaks/],
      [{ auth: { username: 'a:b', password: 'p' } }, /`auth.username` must be a non-empty string without ":"/],
    ];
    for (const [override, expected] of cases) {
      const error = await rejection(canIDeploy({ ...good, ...override } as unknown as CanIDeployOptions));
      expect(error.code, String(expected)).toBe('BATON_ERR_INVALID_OPTION');
      expect(error.message).toMatch(expected);
      expect(error.message).not.toContain('hunter2');
    }
    expect(broker.seen).toHaveLength(0);
  });
});
