/** One problem with a request, pointing at the field. */
export interface Issue {
  /** Where, e.g. `items[2].quantity`, or `body`. */
  path: string;
  message: string;
}

/**
 * An error the API answers with a 4xx (or a deliberate 503, e.g. a feature
 * paused by its kill switch), never a 500: the request was wrong, not the
 * server. `statusCode` and `code` go to the client as they are.
 */
export class OrdersError extends Error {
  readonly statusCode: 400 | 404 | 409 | 503;
  readonly code: string;
  readonly issues: Issue[];

  constructor(statusCode: 400 | 404 | 409 | 503, code: string, message: string, issues: Issue[] = []) {
    super(message);
    this.name = 'OrdersError';
    this.statusCode = statusCode;
    this.code = code;
    this.issues = issues;
  }
}

/** The request body or query is not acceptable; `issues` says what and where. */
export function invalidInput(issues: Issue[]): OrdersError {
  return new OrdersError(400, 'invalid_input', invalidInputMessage(issues), issues);
}

/** The message of an `invalid_input` error: every issue, in order. */
export function invalidInputMessage(issues: readonly Issue[]): string {
  return `Invalid input: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`;
}

/** The JSON body of an error answer, the same under Express and Fastify. */
export interface ErrorBody {
  error: string;
  message: string;
  issues?: Issue[];
}

/** Status code and body for an error thrown by the domain, or undefined when it is not one of ours. */
export function toErrorResponse(error: unknown): { statusCode: number; body: ErrorBody } | undefined {
  if (!(error instanceof OrdersError)) return undefined;
  const body: ErrorBody = { error: error.code, message: error.message };
  if (error.issues.length > 0) body.issues = error.issues;
  return { statusCode: error.statusCode, body };
}
