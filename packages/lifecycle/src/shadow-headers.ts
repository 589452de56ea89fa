// The headers of a shadow step, shared by the router that mirrors requests
// and the adapters that answer them, so both sides spell them alike. Lower
// case: node:http gives request headers in lower case, and header names are
// case-insensitive on the wire.

/**
 * Request header `Baton-Shadow: 1`: this request is a copy of a live request,
 * mirrored to the candidate release during a shadow step. Its answer is only
 * compared, never shown to a client, and it must change no data: a service
 * routes its writes to a dry run (`req.shadow` in `@baton/express`,
 * `request.shadow` in `@baton/fastify`). Baton's routers strip it from every
 * client request, so a client cannot pass its real write off as a copy.
 */
export const SHADOW_HEADER = 'baton-shadow';

/**
 * Request header `Baton-Compare: 1`: this live request, sent to the stable
 * release, has a shadow copy whose answer will be compared with its own. It
 * is served as usual (it is a real client's request); it only asks for the
 * route template in {@link ROUTE_HEADER}. Baton's routers strip it from
 * every client request.
 */
export const COMPARE_HEADER = 'baton-compare';

/**
 * Response header `Baton-Route: GET /orders/:id`: the method and route
 * template a request marked with {@link SHADOW_HEADER} or
 * {@link COMPARE_HEADER} matched (the template metrics are labelled with),
 * so the router compares answers route by route. Absent when no route
 * matched. The router reads it and removes it before the answer reaches the
 * client.
 */
export const ROUTE_HEADER = 'baton-route';
