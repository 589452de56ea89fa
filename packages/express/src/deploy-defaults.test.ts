import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchText, waitFor } from '@baton/testing';
import { startUnderDeployEnv, type DeployedService } from '@baton/testing/deploy-env';

// The README's app with nothing but the environment `baton deploy` sets.
const fixture = fileURLToPath(new URL('../fixtures/plain-app.mjs', import.meta.url));

let service: DeployedService | undefined;
afterEach(() => {
  service?.child.kill('SIGKILL');
  service = undefined;
});

describe('an Express app run by b.serve() under PORT=0 and RELEASE=v7 (as baton deploy starts it)', () => {
  it('announces its port in one startup line, and labels its metrics with the release', async () => {
    service = await startUnderDeployEnv(fixture, { release: 'v7' });
    expect(service.announced(), service.log()).toHaveLength(1);
    const port = service.announced()[0] as number;
    expect(port).toBeGreaterThan(0);
    expect(service.listeningLine()).toMatchObject({ release: 'v7', url: `http://127.0.0.1:${port}`, probes: { readiness: '/readyz' } });

    const url = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetchText(`${url}/readyz`)).status === 200, 20_000, 'readiness');
    expect((await fetchText(`${url}/hello`)).body).toBe('hello');
    const metrics = (await fetchText(`${url}/metrics`)).body;
    expect(metrics).toMatch(/^http_requests_total\{[^}]*route="\/hello"[^}]*release="v7"|^http_requests_total\{[^}]*release="v7"[^}]*route="\/hello"/m);
    expect(metrics).not.toMatch(/release=""/);
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
  });
});
