import express, { type Express } from 'express';
import { ORDER_ROUTE, orderBody } from './order-route.js';

/** The Express app every Express variant serves. */
export function createExpressApp(): Express {
  const app = express();
  app.get(ORDER_ROUTE, (request, response) => {
    response.json(orderBody(request.params.id ?? ''));
  });
  return app;
}
