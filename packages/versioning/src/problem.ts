/** An RFC 9457 problem body, with the members Baton adds for version errors. */
export interface ProblemDetails {
  /** A URI naming the kind of problem; Baton's are `urn:baton:problem:<slug>`. */
  type: string;
  title: string;
  status: number;
  detail: string;
  [extension: string]: unknown;
}

/** The media type of {@link ProblemDetails} bodies. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Baton's problem type URIs: a URN, so no made-up web address is implied. */
export function problemType(slug: string): string {
  return `urn:baton:problem:${slug}`;
}

/**
 * The 404 problem for a route that exists in other versions of the API but
 * not in the client's (added later, or removed by then), the same from every
 * adapter.
 */
export function routeNotInVersionProblem(route: string, version: string): ProblemDetails {
  return { type: problemType('route-not-in-version'), title: 'Not in this API version', status: 404, detail: `${route} does not exist in version ${version}.`, version };
}
