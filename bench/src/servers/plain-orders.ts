// The orders service as a team runs it without Baton, for the deploy bench's
// non-strategies: the routes its load hits (GET /orders, POST /orders, GET /slow)
// over the same in-memory store, validation and error bodies as the Baton-served
// service, `app.listen(process.env.PORT)`, and nothing on SIGTERM (Node's
// default: the process dies at once, whatever it has in flight). `/readyz`
// answers 200 for as long as the process runs, like the health route most
// services have: the routers' health checks (and Baton's readiness wait) read it.
import express, { type ErrorRequestHandler } from 'express';
import { createMemoryOrderStore, parseNewOrder, parsePagination, parseSlowMs, toErrorResponse } from '@baton/example-orders-domain';

const store = createMemoryOrderStore();
await store.open();

const app = express();
app.disable('x-powered-by');
app.use(express.json({ limit: '64kb' }));

app.get('/readyz', (_req, res) => {
  res.json({ status: 'ok' });
});

app.get('/orders', async (req, res) => {
  res.json(await store.list(parsePagination(req.query)));
});

app.post('/orders', async (req, res) => {
  const order = await store.create(parseNewOrder(req.body));
  res.status(201).location(`/orders/${order.id}`).json(order);
});

app.get('/slow', (req, res) => {
  const ms = parseSlowMs(req.query);
  const timer = setTimeout(() => res.json({ sleptMs: ms }), ms);
  res.on('close', () => clearTimeout(timer));
});

const errorHandler: ErrorRequestHandler = (error: unknown, _req, res, _next) => {
  const known = toErrorResponse(error);
  if (known) res.status(known.statusCode).json(known.body);
  else res.status(500).json({ error: 'internal', message: 'Something went wrong on our side.' });
};
app.use(errorHandler);

app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1');
