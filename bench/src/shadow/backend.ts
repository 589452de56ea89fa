// One release of the shadow bench's orders service, as a process of its own:
// `GET /orders/:id` answers a ~300-byte JSON order carrying the release, built
// for each request (cheap, but real work: an object and JSON.stringify). A
// request marked `Baton-Shadow: 1` or `Baton-Compare: 1` also gets its route
// template in `Baton-Route`, as Baton's adapters answer. Prints
// `{"port":N}` once listening on 127.0.0.1 (port 0); exits when its stdin
// closes, so it never outlives the bench.
//
//   node dist/shadow/backend.js <release>
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const release = process.argv[2] ?? 'v1';
const ROUTE = 'GET /orders/:id';

function order(id: number): Record<string, unknown> {
  return {
    id,
    status: 'shipped',
    customer: { id: 1000 + (id % 97), name: 'Ada Lovelace' },
    items: [
      { sku: 'SKU-1001', name: 'Engine manual', qty: 1, priceCents: 2450 },
      { sku: 'SKU-2002', name: 'Punched cards', qty: 2 + (id % 3), priceCents: 995 },
    ],
    totalCents: 2450 + 995 * (2 + (id % 3)),
    currency: 'EUR',
    createdAt: '2026-12-01T09:30:00.000Z',
    updatedAt: '2026-12-02T14:05:00.000Z',
    release,
  };
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const match = req.method === 'GET' ? /^\/orders\/(\d+)$/.exec(req.url ?? '') : null;
  if (match === null) {
    res.writeHead(404, { 'content-type': 'application/json', 'content-length': 21 }).end('{"error":"not found"}');
    return;
  }
  const marked = req.headers['baton-shadow'] === '1' || req.headers['baton-compare'] === '1';
  const body = JSON.stringify(order(Number(match[1])));
  const headers: Record<string, string | number> = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) };
  if (marked) headers['baton-route'] = ROUTE;
  res.writeHead(200, headers).end(body);
}

const server = createServer({ keepAliveTimeout: 30_000 }, handle);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
// The bench holds the other end of stdin: when it ends (or dies), so does this process.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
