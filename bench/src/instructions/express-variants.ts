// The Express 5 apps of the instruction counts, built as the time-based
// benchmarks build them (servers/express-app.ts, servers/metrics-setup.ts,
// versioning-apps.ts), each listening on 127.0.0.1, port 0. Baton's apps run
// through `serve()` as a service does, without signal handlers or exit.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type Request } from 'express';
import { baton, type BatonExpressOptions } from '@baton/express';
import { ORDER_ROUTE } from '../servers/order-route.js';
import { createExpressApp } from '../servers/express-app.js';
import { createBatonMetrics } from '../servers/metrics-setup.js';
import { serveVersioningApp } from '../versioning-apps.js';
import type { ToggleScope } from '@baton/toggles';
import type { BenchDefinitions } from '../toggles-fixture.js';
import { batonToggles, EXPERIMENT, FLAG, rawToggles, togglesBody, USER_HEADER } from './toggles-route.js';
import type { VariantId } from './variants.js';

const quiet = { shutdown: { propagationDelayMs: 0 } };

async function listenBare(app: Express): Promise<number> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** `baton(app, options)` before the routes `addRoutes` adds, then `serve()`. */
async function serveWithBaton(options: BatonExpressOptions, addRoutes?: (app: Express) => void): Promise<number> {
  let wired: ReturnType<typeof baton> | undefined;
  const setUp = (app: Express): void => {
    wired = baton(app, options);
  };
  if (addRoutes) {
    const app = express();
    setUp(app);
    addRoutes(app);
  } else {
    createExpressApp(setUp);
  }
  if (!wired) throw new Error('baton() was not called');
  const served = await wired.serve({ port: 0, host: '127.0.0.1', signals: false, exit: false });
  return served.port;
}

/** Serves `variant`; resolves with its port. */
export async function serveExpressVariant(variant: VariantId): Promise<number> {
  switch (variant) {
    case 'bare':
    case 'bareAgain':
      return listenBare(createExpressApp());
    case 'baton':
      return serveWithBaton({ lifecycle: quiet });
    case 'batonMetrics':
      return serveWithBaton({ lifecycle: quiet, metrics: createBatonMetrics() });
    case 'batonToggles': {
      const flags = await batonToggles();
      const options = { lifecycle: quiet, toggles: flags, togglesContext: { userId: (request: Request) => request.get(USER_HEADER) } } as unknown as BatonExpressOptions;
      return serveWithBaton(options, (app) => {
        app.get(ORDER_ROUTE, (request, response) => {
          // The bench's toggles, not the registry another workspace package registers for `req.toggles`.
          const toggles = request.toggles as unknown as ToggleScope<BenchDefinitions>;
          response.json(togglesBody(request.params.id ?? '', toggles.isEnabled(FLAG), toggles.getVariant(EXPERIMENT).name));
        });
      });
    }
    case 'batonRawToggles': {
      const unleash = await rawToggles();
      return serveWithBaton({ lifecycle: quiet }, (app) => {
        app.get(ORDER_ROUTE, (request, response) => {
          const context = { userId: request.get(USER_HEADER) ?? '', remoteAddress: request.ip ?? '' };
          response.json(togglesBody(request.params.id ?? '', unleash.isEnabled(FLAG, context), unleash.getVariant(EXPERIMENT, context).name));
        });
      });
    }
    case 'vBare':
      return serveVersioningApp('express', 'bare');
    case 'vBaton':
      return serveVersioningApp('express', 'baton');
    case 'vLatest':
      return serveVersioningApp('express', 'latest');
    case 'vOldest':
      return serveVersioningApp('express', 'oldest');
  }
}
