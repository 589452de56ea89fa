// No Pact Broker can run on this machine (it is a Ruby service with its own
// database, and nothing outside the npm and Debian registries is reachable),
// so these tests start a small local node:http server on 127.0.0.1 port 0 that
// serves the two resources record-deployment uses, shaped as the broker's own
// decorators write them (pact_broker 2.120: VersionDecorator with one
// `pb:record-deployment` link per environment, DeployedVersionDecorator for
// the 201 answer, `{ "error": ... }` bodies for 404s). The HTTP is real: real
// fetch, real sockets, real status codes, real request bodies.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BatonError } from '@baton/lifecycle';
import { closeServers } from '@baton/testing';
import { recordDeployment, type RecordDeploymentOptions } from './record-deployment.js';

interface SeenRequest {
  method: string;
  /** The path as sent, still percent-encoded. */
  rawPath: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Answers one request; `base` is the broker's base URL as it would build its links. */
type Handler = (request: SeenRequest, res: ServerResponse, base: string) => void;

interface FakeBroker {
  url: string;
  seen: SeenRequest[];
}

const servers: Server[] = [];

afterEach(() => closeServers(servers));

async function startBroker(handler: Handler, prefix = ''): Promise<FakeBroker> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const request = { method: req.method ?? '', rawPath: req.url ?? '/', headers: req.headers, body };
      seen.push(request);
      handler(request, res, `http://${req.headers.host}${prefix}`);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${prefix}`, seen };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/hal+json;charset=utf-8', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

interface Environment {
  uuid: string;
  name: string;
  displayName: string;
}

const PRODUCTION: Environment = { uuid: 'c7a3c3f0-4a5e-4d3c-9d7e-1f2a3b4c5d6e', name: 'production', displayName: 'Production' };
const TEST: Environment = { uuid: '0b1e2f3a-5c6d-4e7f-8a9b-0c1d2e3f4a5b', name: 'test', displayName: 'Test' };

const enc = encodeURIComponent;

function versionPath(pacticipant: string, version: string): string {
  return `/pacticipants/${enc(pacticipant)}/versions/${enc(version)}`;
}

/**
 * GET /pacticipants/:name/versions/:number as the broker's VersionDecorator writes it;
 * `recordDeployment: undefined` is a broker before 2.80 (no environments, no such link).
 */
function versionResource(base: string, pacticipant: string, version: string, environments: Environment[] | undefined): Record<string, unknown> {
  const self = `${base}${versionPath(pacticipant, version)}`;
  const perEnvironment = (rel: 'deployed' | 'released', title: string): Record<string, string>[] | undefined =>
    environments?.map((env) => ({ title: `${title} ${env.displayName}`, name: env.name, href: `${self}/${rel}-versions/environment/${env.uuid}` }));
  return {
    number: version,
    branch: 'main',
    buildUrl: 'https://ci.example.com/builds/812',
    createdAt: '2026-11-26T19:40:00+00:00',
    _embedded: { tags: [], branchVersions: [] },
    _links: {
      self: { title: 'Version', name: version, href: self },
      'pb:pacticipant': { title: 'Pacticipant', name: pacticipant, href: `${base}/pacticipants/${enc(pacticipant)}` },
      'pb:tag': { href: `${self}/tags/{tag}`, title: 'Get, create or delete a tag for this pacticipant version', templated: true },
      'pb:latest-verification-results-where-pacticipant-is-consumer': { title: 'Latest verification results for consumer version', href: `${self}/verification-results/latest` },
      'pb:pact-versions': [],
      ...(environments === undefined
        ? {}
        : {
            'pb:record-deployment': perEnvironment('deployed', 'Record deployment to'),
            'pb:record-release': perEnvironment('released', 'Record release to'),
          }),
      curies: [{ name: 'pb', href: `${base}/doc/{rel}?context=version`, templated: true }],
    },
  };
}

const DEPLOYED_UUID = 'd3b07384-d9a0-4c9b-8e2f-6a1c2b3d4e5f';

/** The 201 answer to the POST, as the broker's DeployedVersionDecorator writes it. */
function deployedVersion(base: string, pacticipant: string, version: string, env: Environment, instance: string | null): Record<string, unknown> {
  return {
    uuid: DEPLOYED_UUID,
    currentlyDeployed: true,
    target: instance,
    applicationInstance: instance,
    undeployedAt: null,
    createdAt: '2026-11-26T20:10:00+00:00',
    _embedded: {
      pacticipant: { name: pacticipant, _links: { self: { href: `${base}/pacticipants/${enc(pacticipant)}` } } },
      version: { number: version, _links: { self: { title: 'Version', name: version, href: `${base}${versionPath(pacticipant, version)}` } } },
      environment: { uuid: env.uuid, name: env.name, displayName: env.displayName, production: env.name === 'production', createdAt: '2026-01-01T00:00:00+00:00', _links: { self: { href: `${base}/environments/${env.uuid}` } } },
    },
    _links: { self: { href: `${base}/deployed-versions/${DEPLOYED_UUID}` } },
  };
}

/** A broker that knows `pacticipant` `version` and the given environments, and records deployments. */
function brokerKnowing(pacticipant: string, version: string, environments: Environment[] | undefined): Handler {
  return (request, res, base) => {
    const prefix = new URL(base).pathname.replace(/\/$/, '');
    const path = request.rawPath.slice(prefix.length);
    const own = versionPath(pacticipant, version);
    if (request.method === 'GET' && path === own) return json(res, 200, versionResource(base, pacticipant, version, environments));
    const env = environments?.find((e) => path === `${own}/deployed-versions/environment/${e.uuid}`);
    if (request.method === 'POST' && env !== undefined) {
      const body = JSON.parse(request.body || '{}') as { applicationInstance?: string; target?: string };
      return json(res, 201, deployedVersion(base, pacticipant, version, env, body.applicationInstance ?? body.target ?? null), { location: `${base}/deployed-versions/${DEPLOYED_UUID}` });
    }
    // What the broker's render_error writes for a resource that does not exist.
    json(res, 404, { error: 'The requested document was not found on this server.' }, { 'content-type': 'application/json;charset=utf-8' });
  };
}

async function rejection(promise: Promise<unknown>): Promise<BatonError> {
  const error = await promise.then(
    () => {
      throw new Error('expected recordDeployment to reject, but it resolved');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BatonError);
  return error as BatonError;
}

/** A port that was just free: listen, read it back, close. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('recordDeployment', () => {
  it('reads the version, posts to its pb:record-deployment link for the environment, and returns what the broker recorded', async () => {
    const token = 'pb-secret-token-5521';
    // Names that need encoding: a space in the pacticipant, "+" and "/" in the version.
    const pacticipant = 'Order Service';
    const version = '2.0.0+build/7';
    const broker = await startBroker(brokerKnowing(pacticipant, version, [TEST, PRODUCTION]));

    const recorded = await recordDeployment({ brokerUrl: broker.url, pacticipant, version, environment: 'production', applicationInstance: 'eu-west', auth: { token } });

    expect(recorded).toEqual({
      pacticipant,
      version,
      environment: 'production',
      applicationInstance: 'eu-west',
      deployedVersionUrl: `${broker.url}/deployed-versions/${DEPLOYED_UUID}`,
      createdAt: '2026-11-26T20:10:00+00:00',
    });
    expect(broker.seen.map((r) => `${r.method} ${r.rawPath}`)).toEqual([
      'GET /pacticipants/Order%20Service/versions/2.0.0%2Bbuild%2F7',
      `POST /pacticipants/Order%20Service/versions/2.0.0%2Bbuild%2F7/deployed-versions/environment/${PRODUCTION.uuid}`,
    ]);
    const [get, post] = broker.seen;
    expect(get?.headers.authorization).toBe(`Bearer ${token}`);
    expect(get?.headers.accept).toContain('application/hal+json');
    expect(post?.headers.authorization).toBe(`Bearer ${token}`);
    expect(post?.headers['content-type']).toBe('application/json');
    // `target` too, for brokers 2.80 to 2.88, as pact_broker-client sends it.
    expect(JSON.parse(post?.body ?? '')).toEqual({ applicationInstance: 'eu-west', target: 'eu-west' });
  });

  it('sends an empty JSON object without applicationInstance, Basic credentials, and keeps the broker’s path prefix', async () => {
    const broker = await startBroker(brokerKnowing('orders', 'v2', [PRODUCTION]), '/pact');

    const recorded = await recordDeployment({ brokerUrl: `${broker.url}/`, pacticipant: 'orders', version: 'v2', environment: 'production', auth: { username: 'ci', password: 'pw-1' } });

    expect(recorded.applicationInstance).toBeUndefined();
    expect(recorded.deployedVersionUrl).toBe(`${broker.url}/deployed-versions/${DEPLOYED_UUID}`);
    expect(broker.seen.map((r) => `${r.method} ${r.rawPath}`)).toEqual([
      'GET /pact/pacticipants/orders/versions/v2',
      `POST /pact/pacticipants/orders/versions/v2/deployed-versions/environment/${PRODUCTION.uuid}`,
    ]);
    expect(broker.seen[1]?.headers.authorization).toBe(`Basic ${Buffer.from('ci:pw-1').toString('base64')}`);
    expect(broker.seen[1]?.body).toBe('{}');
  });

  it('takes the deployed version’s URL from the Location header when the body has no self link', async () => {
    const broker = await startBroker((request, res, base) => {
      if (request.method === 'GET') return json(res, 200, versionResource(base, 'orders', 'v2', [PRODUCTION]));
      // The minimal answer pact_broker-client's own contract expects.
      json(res, 201, { target: null }, { location: `/deployed-versions/${DEPLOYED_UUID}` });
    });

    const recorded = await recordDeployment({ brokerUrl: broker.url, pacticipant: 'orders', version: 'v2', environment: 'production' });

    expect(recorded).toEqual({
      pacticipant: 'orders',
      version: 'v2',
      environment: 'production',
      applicationInstance: undefined,
      deployedVersionUrl: `${broker.url}/deployed-versions/${DEPLOYED_UUID}`,
      createdAt: undefined,
    });
  });

  it('says the version is not known to the broker when it answers 404, and posts nothing', async () => {
    const broker = await startBroker(brokerKnowing('orders', 'v1', [PRODUCTION]));

    const error = await rejection(recordDeployment({ brokerUrl: broker.url, pacticipant: 'orders', version: 'v2', environment: 'production' }));

    expect(error.code).toBe('BATON_ERR_BROKER');
    expect(error.message).toBe(
      `recordDeployment: orders v2 is not known to the broker: publish its verification results or pacts first — the Pact Broker at ${broker.url}/pacticipants/orders/versions/v2 answered GET with 404 Not Found: The requested document was not found on this server. If they are published, check \`brokerUrl\`, \`pacticipant\` and \`version\`.`,
    );
    expect(broker.seen).toHaveLength(1);
  });

  it('says the broker is too old for environments when the version has no pb:record-deployment link', async () => {
    const broker = await startBroker(brokerKnowing('orders', 'v2', undefined));

    const error = await rejection(recordDeployment({ brokerUrl: broker.url, pacticipant: 'orders', version: 'v2', environment: 'production' }));

    expect(error.code).toBe('BATON_ERR_BROKER');
    expect(error.message).toBe(
      `recordDeployment: the Pact Broker at ${broker.url} does not offer to record deployments (no "pb:record-deployment" link on orders v2): it needs Pact Broker 2.80.0 or later, which has environments (on PactFlow, credentials that may read environments).`,
    );
    expect(broker.seen).toHaveLength(1);
  });

  it('lists the environments the broker knows when the one asked for is not among them', async () => {
    const broker = await startBroker(brokerKnowing('orders', 'v2', [TEST, PRODUCTION]));

    const error = await rejection(recordDeployment({ brokerUrl: broker.url, pacticipant: 'orders', version: 'v2', environment: 'staging' }));
    const nearly = await rejection(recordDeployment({ brokerUrl: broker.url, pacticipant: 'orders', version: 'v2', environment: 'Production' }));

    expect(error.code).toBe('BATON_ERR_BROKER');
    expect(error.message).toBe(
      `recordDeployment: the Pact Broker at ${broker.url} knows no environment "staging" to record a deployment of orders in; it offers "test", "production": create it (\`pact-broker create-environment --name staging\`) or give one of those.`,
    );
    expect(nearly.message).toContain('knows no environment "Production" to record a deployment of orders in; it offers "test", "production": did you mean "production"?');
    // Two GETs, no POST.
    expect(broker.seen.map((r) => r.method)).toEqual(['GET', 'GET']);
  });

  it('says so when the broker has no environments at all', async () => {
    const broker = await startBroker(brokerKnowing('orders', 'v2', []));

    const error = await rejection(recordDeployment({ brokerUrl: broker.url, pacticipant: 'orders', version: 'v2', environment: 'production' }));

    expect(error.message).toBe(
      `recordDeployment: the Pact Broker at ${broker.url} has no environments to record a deployment of orders in (its "pb:record-deployment" links for v2 are empty): create "production" first, e.g. \`pact-broker create-environment --name production\`.`,
    );
  });

  it('keeps the token out of the error when the broker refuses it (401), even when it echoes it', async () => {
    const token = 'pb-secret-token-93f1';
    const broker = await startBroker((request, res) => json(res, 401, { error: { message: `Bad credentials: ${request.headers.authorization}` } }));

    const error = await rejection(recordDeployment({ brokerUrl: broker.url, pacticipant: 'orders', version: 'v2', environment: 'production', auth: { token } }));

    expect(error.code).toBe('BATON_ERR_BROKER');
    expect(error.message).toBe(
      `recordDeployment: the Pact Broker at ${broker.url}/pacticipants/orders/versions/v2 answered GET with 401 Unauthorized: Bad credentials: Bearer [redacted] — the credentials in \`auth\` were refused.`,
    );
    expect(JSON.stringify(error)).not.toContain(token);
  });

  it('says when the broker wants credentials and none were given', async () => {
    const broker = await startBroker((_request, res) => json(res, 401, { error: { message: 'Authentication required' } }));

    const error = await rejection(recordDeployment({ brokerUrl: broker.url, pacticipant: 'orders', version: 'v2', environment: 'production' }));

    expect(error.message).toContain('answered GET with 401 Unauthorized: Authentication required — it wants credentials and none were given (set `auth`).');
  });

  it('reports a 403 on the POST (credentials that may read but not record) without the password or the Basic credential', async () => {
    const password = 's3cr3t-pw-7781';
    const basic = Buffer.from(`ci:${password}`).toString('base64');
    const broker = await startBroker((request, res, base) => {
      if (request.method === 'GET') return json(res, 200, versionResource(base, 'orders', 'v2', [PRODUCTION]));
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end(`Forbidden for ${request.headers.authorization} (password ${password})`);
    });

    const error = await rejection(recordDeployment({ brokerUrl: broker.url, pacticipant: 'orders', version: 'v2', environment: 'production', auth: { username: 'ci', password } }));

    expect(error.code).toBe('BATON_ERR_BROKER');
    expect(error.message).toContain(`answered POST with 403 Forbidden: Forbidden for Basic [redacted] (password [redacted]) — the credentials in \`auth\` were refused, or may not record deployments.`);
    expect(error.message).not.toContain(password);
    expect(error.message).not.toContain(basic);
  });

  it('reports a 500 on the POST with the broker’s own message, saying recording again is safe', async () => {
    const broker = await startBroker((request, res, base) => {
      if (request.method === 'GET') return json(res, 200, versionResource(base, 'orders', 'v2', [PRODUCTION]));
      json(res, 500, { errors: ['Database connection lost'] });
    });

    const error = await rejection(recordDeployment({ brokerUrl: broker.url, pacticipant: 'orders', version: 'v2', environment: 'production' }));

    expect(error.message).toBe(
      `recordDeployment: the Pact Broker at ${broker.url}/pacticipants/orders/versions/v2/deployed-versions/environment/${PRODUCTION.uuid} answered POST with 500 Internal Server Error: Database connection lost. The deployment may have been recorded; recording it again is safe.`,
    );
  });

  it('reports a body that is not JSON, from either request', async () => {
    const login = await startBroker((_request, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>Sign in to continue</body></html>');
    });
    const proxy = await startBroker((request, res, base) => {
      if (request.method === 'GET') return json(res, 200, versionResource(base, 'orders', 'v2', [PRODUCTION]));
      res.writeHead(201, { 'content-type': 'text/plain' });
      res.end('Created');
    });

    const onGet = await rejection(recordDeployment({ brokerUrl: login.url, pacticipant: 'orders', version: 'v2', environment: 'production' }));
    const onPost = await rejection(recordDeployment({ brokerUrl: proxy.url, pacticipant: 'orders', version: 'v2', environment: 'production' }));

    expect(onGet.code).toBe('BATON_ERR_BROKER');
    expect(onGet.message).toBe(
      `recordDeployment: the Pact Broker at ${login.url}/pacticipants/orders/versions/v2 answered GET with 200 and a body that is not JSON: <html><body>Sign in to continue</body></html>.`,
    );
    expect(onPost.code).toBe('BATON_ERR_BROKER');
    expect(onPost.message).toMatch(/answered POST with 201 and a body that is not JSON: Created\. The deployment may have been recorded; recording it again is safe\.$/);
  });

  it('reports JSON in an unexpected shape, naming the field', async () => {
    const answers: unknown[] = [[], { _links: [] }, { _links: { 'pb:record-deployment': [{ name: 'production' }] } }];
    let n = 0;
    const broker = await startBroker((_request, res) => json(res, 200, answers[n++]));

    const messages: string[] = [];
    for (let i = 0; i < answers.length; i++) {
      const error = await rejection(recordDeployment({ brokerUrl: broker.url, pacticipant: 'orders', version: 'v2', environment: 'production' }));
      expect(error.code).toBe('BATON_ERR_BROKER');
      messages.push(error.message);
    }
    expect(messages[0]).toContain('answered JSON this client does not understand: expected the version resource, an object with "_links"; got an array.');
    expect(messages[1]).toContain('"_links" must be an object; got an array.');
    expect(messages[2]).toContain('"_links.pb:record-deployment[0]" must have a string "name" and "href".');
  });

  it('gives up on a request that takes longer than timeoutMs: the GET, and the POST (which may have been recorded)', async () => {
    // Never answers; afterEach closes the connection.
    const silent = await startBroker(() => {});
    const slowPost = await startBroker((request, res, base) => {
      if (request.method === 'GET') json(res, 200, versionResource(base, 'orders', 'v2', [PRODUCTION]));
    });

    const onGet = await rejection(recordDeployment({ brokerUrl: silent.url, pacticipant: 'orders', version: 'v2', environment: 'production', timeoutMs: 150 }));
    const onPost = await rejection(recordDeployment({ brokerUrl: slowPost.url, pacticipant: 'orders', version: 'v2', environment: 'production', timeoutMs: 150 }));

    expect(onGet.code).toBe('BATON_ERR_BROKER');
    expect(onGet.message).toBe(`recordDeployment: the Pact Broker at ${silent.url}/pacticipants/orders/versions/v2 did not answer GET within 150 ms.`);
    expect(onPost.message).toBe(
      `recordDeployment: the Pact Broker at ${slowPost.url}/pacticipants/orders/versions/v2/deployed-versions/environment/${PRODUCTION.uuid} did not answer POST within 150 ms. The deployment may have been recorded; recording it again is safe.`,
    );
  });

  it('reports a broker that cannot be reached, without the token', async () => {
    const port = await freePort();

    const error = await rejection(recordDeployment({ brokerUrl: `http://127.0.0.1:${port}`, pacticipant: 'orders', version: 'v2', environment: 'production', auth: { token: 'tkn-unreachable-1' } }));

    expect(error.code).toBe('BATON_ERR_BROKER');
    expect(error.message).toMatch(new RegExp(`^recordDeployment: could not reach the Pact Broker at http://127\\.0\\.0\\.1:${port}/pacticipants/orders/versions/v2: .*ECONNREFUSED`));
    expect(error.message).not.toContain('tkn-unreachable-1');
  });

  it('does not send the credentials to another origin that a link names', async () => {
    const elsewhere = await startBroker(brokerKnowing('orders', 'v2', [PRODUCTION]));
    const broker = await startBroker((_request, res) => json(res, 200, versionResource(elsewhere.url, 'orders', 'v2', [PRODUCTION])));

    const error = await rejection(recordDeployment({ brokerUrl: broker.url, pacticipant: 'orders', version: 'v2', environment: 'production', auth: { token: 'tkn-origin-2' } }));

    expect(error.code).toBe('BATON_ERR_BROKER');
    expect(error.message).toContain(`links to another origin (${elsewhere.url}) to record the deployment, and the credentials in \`auth\` are only sent to \`brokerUrl\``);
    expect(elsewhere.seen).toHaveLength(0);
  });

  it('does not follow a redirect of the POST (it would become a GET)', async () => {
    const broker = await startBroker((request, res, base) => {
      if (request.method === 'GET') return json(res, 200, versionResource(base, 'orders', 'v2', [PRODUCTION]));
      res.writeHead(302, { location: `${base}/login?next=%2F` });
      res.end();
    });

    const error = await rejection(recordDeployment({ brokerUrl: broker.url, pacticipant: 'orders', version: 'v2', environment: 'production' }));

    expect(error.message).toContain(`answered POST with 302 Found, a redirect to ${broker.url}/login: set \`brokerUrl\` to the broker's own base URL`);
    expect(broker.seen.map((r) => r.method)).toEqual(['GET', 'POST']);
  });

  it('rejects with the signal’s reason when it aborts', async () => {
    const broker = await startBroker(() => {});
    const controller = new AbortController();
    const reason = new Error('deploy cancelled');

    const pending = recordDeployment({ brokerUrl: broker.url, pacticipant: 'orders', version: 'v2', environment: 'production', signal: controller.signal });
    while (broker.seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort(reason);

    await expect(pending).rejects.toBe(reason);
  });

  it('refuses bad options before any request, saying what is accepted', async () => {
    const broker = await startBroker(brokerKnowing('orders', 'v2', [PRODUCTION]));
    const good: RecordDeploymentOptions = { brokerUrl: broker.url, pacticipant: 'orders', version: 'v2', environment: 'production' };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ brokerUrl: undefined }, /`brokerUrl` is required: the Pact Broker's base URL/],
      [{ brokerUrl: 'not a url' }, /`brokerUrl` is not a valid URL/],
      [{ brokerUrl: 'ftp://broker.example.com' }, /must be an http: or https: URL; got a ftp: URL/],
      [{ brokerUrl: 'https://ci:hunter2@broker.example.com' }, /must not carry credentials; give them as `auth/],
      [{ brokerUrl: 'https://broker.example.com/?token=hunter2' }, /without a query or fragment/],
      [{ pacticipant: '' }, /`pacticipant` \(the application deployed, as the broker names it\) must be a non-empty string; got ""/],
      [{ version: undefined }, /`version` of "orders" \(e\.g\. the git SHA it was published with\) must be a non-empty string; got undefined/],
      [{ version: '..' }, /`version` of "orders" .* cannot be "\.\."/],
      [{ environment: ' ' }, /`environment` must be a non-empty string \(e\.g\. "production"\); got " "/],
      [{ applicationInstance: '' }, /`applicationInstance` must be a non-empty string when given/],
      [{ timeoutMs: 0 }, /`timeoutMs` must be a positive number of milliseconds; got 0/],
      [{ auth: { token: 'a\r\nX-Evil: 1' } }, /`auth.token` must be a non-empty string without line breaks/],
      [{ auth: { username: 'a:b', password: 'p' } }, /`auth.username` must be a non-empty string without ":"/],
      [{ auth: 'hunter2' }, /`auth` must be `\{ token \}` or `\{ username, password \}`/],
    ];
    for (const [override, expected] of cases) {
      const error = await rejection(recordDeployment({ ...good, ...override } as unknown as RecordDeploymentOptions));
      expect(error.code, String(expected)).toBe('BATON_ERR_INVALID_OPTION');
      expect(error.message).toMatch(expected);
      expect(error.message).not.toContain('hunter2');
    }
    expect(broker.seen).toHaveLength(0);
  });
});
