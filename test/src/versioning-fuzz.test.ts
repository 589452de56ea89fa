// Property-based: whatever version a client asks for, through any header,
// Accept parameter or query string, a real Express and a real Fastify server
// answer 200 on a supported version or an RFC 9457 400 / 406 problem listing
// the supported versions. Never a 5xx, never a silent fallback to the latest.
import { Agent, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baton } from '@baton/express';
import { batonPlugin } from '@baton/fastify';
import { createVersioning, defineVersions, versionChange } from '@baton/versioning';

const versions = defineVersions({ versions: ['2023-05-01', '2024-01-10', '2024-09-01', '2025-03-01'] });
const rename = versionChange<{ id: string; total: number }, { id: string; totalCents: number }>({
  version: '2024-09-01',
  description: '`total` (units) becomes `totalCents`.',
  routes: ['GET /orders/:id', 'POST /orders'],
  response: { downgrade: ({ totalCents, ...rest }) => ({ ...rest, total: totalCents / 100 }) },
});

const newVersioning = () => createVersioning({ versions, changes: [rename], negotiation: { vendor: 'orders', query: 'api_version' } });
const order = (id: string) => ({ id, totalCents: 1250 });

interface Answer { status: number; type: string | undefined; apiVersion: string | undefined; body: string }

const agent = new Agent({ keepAlive: true, maxSockets: 4 });
const servers: { name: string; url: string; close: () => Promise<unknown> }[] = [];

beforeAll(async () => {
  const app = express();
  const b = baton(app, { lifecycle: { shutdown: { propagationDelayMs: 0 } }, versioning: newVersioning() });
  app.get('/orders/:id', (request, response) => void response.json(order(request.params.id)));
  const listening = await b.listen({ port: 0, host: '127.0.0.1' });
  servers.push({ name: 'express', url: listening.url, close: () => listening.close() });

  const fastify = Fastify();
  await fastify.register(batonPlugin, { lifecycle: { shutdown: { propagationDelayMs: 0 } }, versioning: newVersioning() });
  fastify.get<{ Params: { id: string } }>('/orders/:id', async (request) => order(request.params.id));
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  servers.push({ name: 'fastify', url: `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}`, close: () => fastify.close() });
});

afterAll(async () => {
  for (const server of servers.splice(0)) await server.close();
  agent.destroy();
});

function get(url: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], apiVersion: res.headers['api-version'] as string | undefined, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

// What a client can put in a header value: visible ASCII, spaces and tabs, and Latin-1 bytes.
const headerChar = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
  { weight: 1, arbitrary: fc.constantFrom(0x09, 0xa0, 0xe9, 0xff) },
).map((code) => String.fromCharCode(code));
const headerText = (maxLength: number) => fc.array(headerChar, { maxLength }).map((chars) => chars.join('').trim());
const versionish = fc.oneof(
  headerText(40),
  fc.constantFrom(...versions.list, '2024-02-30', '2024-13-01', '0000-00-00', '9999-12-31', '2024-1-1', ' 2024-09-01', '2024-09-01T00:00:00Z'),
  fc.date({ min: new Date('1990-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((date) => date.toISOString().slice(0, 10)),
);
const accept = fc.oneof(
  headerText(200),
  fc.tuple(versionish, fc.constantFrom('', ';q=0.5', ';q=x', ';q=0', '; charset=utf-8', ', */*')).map(([version, tail]) => `text/html, application/vnd.orders+json; version=${version}${tail}`),
);

/** What the version header asks for, as the server reads it (HTTP strips the spaces around a value). */
function resolved(header: string): string | undefined {
  const resolution = versions.resolve(header.trim());
  return resolution.ok ? resolution.version : undefined;
}

describe.each(['express', 'fastify'])('API-version negotiation on a real %s server (property-based)', (name) => {
  it('answers a supported version or a 400 / 406 problem, never a 5xx', async () => {
    const server = servers.find((candidate) => candidate.name === name);
    if (server === undefined) throw new Error(`${name} server did not start`);
    await fc.assert(
      fc.asyncProperty(fc.option(versionish), fc.option(accept), fc.option(fc.string({ maxLength: 60 })), async (header, acceptHeader, query) => {
        const headers: Record<string, string> = {};
        if (header !== null) headers['api-version'] = header;
        if (acceptHeader !== null) headers.accept = acceptHeader;
        const answer = await get(`${server.url}/orders/o1${query === null ? '' : `?api_version=${encodeURIComponent(query)}`}`, headers);
        if (answer.status === 200) {
          expect(versions.has(answer.apiVersion ?? '')).toBe(true);
          // The header decides first: its version (the closest earlier one for a date between), never another.
          if (header !== null) expect(answer.apiVersion).toBe(resolved(header));
          if (header === null && acceptHeader === null && query === null) expect(answer.apiVersion).toBe(versions.oldest);
          // The body is in the shape of the version echoed, not the latest's.
          expect(JSON.parse(answer.body)).toEqual(answer.apiVersion === '2023-05-01' || answer.apiVersion === '2024-01-10' ? { id: 'o1', total: 12.5 } : order('o1'));
        } else {
          expect([400, 406]).toContain(answer.status);
          expect(answer.type).toMatch(/^application\/problem\+json/);
          expect(JSON.parse(answer.body)).toMatchObject({ status: answer.status, supported: versions.list });
        }
      }),
      { numRuns: 400 },
    );
  });
});
