import { BatonError } from '@baton/lifecycle';

/** The part of a Pact request or response builder the pin needs (PactV4's `V4RequestBuilder`, `V4ResponseBuilder`). */
export interface HeaderBuilder {
  headers(headers: Record<string, string>): unknown;
}

/** A consumer's pinned API version, applied to every interaction it records. */
export interface PinnedApiVersion<V extends string = string> {
  readonly version: V;
  /** The request header carrying it; default `Api-Version`. */
  readonly header: string;
  /**
   * A `withRequest` builder callback that records the pinned version header,
   * then runs `build` (which may add more headers, a body, a query).
   */
  request<B extends HeaderBuilder>(build?: (builder: B) => unknown): (builder: B) => void;
  /**
   * A `willRespondWith` builder callback that expects the provider to echo the
   * version it served (Baton's adapters do), then runs `build`. Use it only
   * when the client relies on the echo; `request()` alone pins the version.
   */
  response<B extends HeaderBuilder>(build?: (builder: B) => unknown): (builder: B) => void;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Pins a consumer's interactions to the API version it sends, so its pact
 * records that version and the provider verifies the interaction against it
 * (Baton's versioning negotiates on the recorded header), not against the
 * newest. A client that forgets to send the header, or sends another version,
 * no longer matches its own pact: the consumer test fails, not production.
 *
 * @example
 * const pinned = pinApiVersion('2025-01-15');
 * await pact.addInteraction()
 *   .uponReceiving('a request for an order (2025-01-15)')
 *   .withRequest('GET', '/orders/ord_1', pinned.request())
 *   .willRespondWith(200, pinned.response((response) => response.jsonBody({ customer: 'ada' })))
 *   .executeTest(...);
 */
export function pinApiVersion<const V extends string>(version: V, options: { header?: string } = {}): PinnedApiVersion<V> {
  const header = options.header ?? 'Api-Version';
  if (typeof version !== 'string' || version.trim() === '' || version !== version.trim() || /[\r\n]/.test(version)) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `pinApiVersion: the version must be a non-empty string without surrounding spaces; got ${JSON.stringify(version)}.`);
  }
  if (typeof header !== 'string' || !TOKEN.test(header)) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `pinApiVersion: header must be an HTTP header name (letters, digits, -); got ${JSON.stringify(header)}.`);
  }
  const withVersion =
    <B extends HeaderBuilder>(build?: (builder: B) => unknown) =>
    (builder: B): void => {
      builder.headers({ [header]: version });
      build?.(builder);
    };
  return Object.freeze({ version, header, request: withVersion, response: withVersion });
}
