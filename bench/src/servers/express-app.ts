import express, { type Express } from 'express';
import { ORDER_ROUTE, orderBody } from './order-route.js';

/**
 * The Express app every Express variant serves. `setUp` runs before the
 * route is added, where a user mounts middleware such as Baton's probes.
 */
export function createExpressApp(setUp?: (app: Express) => void): Express {
  const app = express();
  setUp?.(app);
  app.get(ORDER_ROUTE, (request, response) => {
    response.json(orderBody(request.params.id ?? ''));
  });
  return app;
}
