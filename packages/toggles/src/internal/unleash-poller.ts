import { BatonError, isBatonError } from '@baton/lifecycle';
import { checkClientFeatures, type ClientFeature, type ClientSegment } from '../toggle-file.js';

export interface PollerOptions {
  /** The Unleash API base, e.g. `https://unleash.example.com/api`. */
  url: string;
  token: string;
  appName: string;
  instanceId: string;
  refreshIntervalMs: number;
  timeoutMs: number;
  projectName?: string | undefined;
  maxBytes: number;
  userAgent: string;
}

export interface PollerEvents {
  /** A 200 whose body is a whole, valid feature list. */
  features(features: ClientFeature[], segments: ClientSegment[]): void;
  /** A 304: what Baton holds is still what the server has. */
  unchanged(): void;
  /** 401 or 403: the token is wrong for this server; polling has stopped. */
  authFailed(error: BatonError): void;
  /** Anything else (server down, 5xx, timeout, garbage): values kept, polling backs off and goes on. */
  fault(error: BatonError): void;
}

/** After this many faults in a row the wait stops growing. */
const MAX_BACKOFF_STEPS = 10;

/**
 * Polls `GET /client/features` with the ETag, so an unchanged answer costs a
 * 304. Written here rather than reusing unleash-client's fetcher because that
 * one hands any 200 straight to its repository (see FeatureRepository); this
 * one checks the whole answer first and reports each outcome distinctly.
 */
export class UnleashPoller {
  readonly #options: PollerOptions;
  readonly #events: PollerEvents;
  readonly #endpoint: string;
  #etag: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: AbortController | undefined;
  #failures = 0;
  #stopped = false;

  constructor(options: PollerOptions, events: PollerEvents) {
    this.#options = options;
    this.#events = events;
    const base = options.url.replace(/\/+$/, '').replace(/\/client\/features$/, '');
    const query = options.projectName === undefined ? '' : `?project=${encodeURIComponent(options.projectName)}`;
    this.#endpoint = `${base}/client/features${query}`;
  }

  get endpoint(): string {
    return this.#endpoint;
  }

  /** Fetches now, then every `refreshIntervalMs` (longer after faults). */
  start(): void {
    void this.#poll();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#inFlight?.abort();
  }

  async #poll(): Promise<void> {
    if (this.#stopped) return;
    const outcome = await this.#fetchOnce();
    if (this.#stopped || outcome === 'auth-failed') return;
    this.#failures = outcome === 'fault' ? this.#failures + 1 : 0;
    const wait = this.#options.refreshIntervalMs * Math.min(this.#failures + 1, MAX_BACKOFF_STEPS);
    this.#timer = setTimeout(() => void this.#poll(), wait);
    this.#timer.unref();
  }

  async #fetchOnce(): Promise<'ok' | 'fault' | 'auth-failed'> {
    const controller = new AbortController();
    this.#inFlight = controller;
    const timeout = setTimeout(() => controller.abort(new Error(`no answer within ${this.#options.timeoutMs} ms`)), this.#options.timeoutMs);
    timeout.unref();
    try {
      const response = await fetch(this.#endpoint, { headers: this.#headers(), signal: controller.signal });
      if (response.status === 304) {
        await response.body?.cancel();
        this.#events.unchanged();
        return 'ok';
      }
      if (response.status === 401 || response.status === 403) {
        await response.body?.cancel();
        this.#events.authFailed(
          new BatonError(
            'BATON_ERR_TOGGLE_AUTH',
            `toggles: ${this.#endpoint} answered ${response.status}: the token is not allowed to read features. ` +
              'Give a backend (client) token of this project and environment, e.g. "*:production.<secret>"; polling has stopped.',
          ),
        );
        return 'auth-failed';
      }
      if (response.status !== 200) {
        await response.body?.cancel();
        this.#events.fault(new BatonError('BATON_ERR_TOGGLE_SYNC', `toggles: ${this.#endpoint} answered ${response.status}; keeping the values held.`));
        return 'fault';
      }
      const text = await response.text();
      if (text.length > this.#options.maxBytes) {
        throw new Error(`the answer is larger than ${this.#options.maxBytes} bytes`);
      }
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch {
        throw new Error(`the answer is not JSON (${text.length} characters, starting ${JSON.stringify(text.slice(0, 40))})`);
      }
      const { features, segments } = checkClientFeatures(data, this.#endpoint);
      this.#etag = response.headers.get('etag') ?? undefined;
      this.#events.features(features, segments);
      return 'ok';
    } catch (error) {
      if (this.#stopped) return 'fault';
      const cause = isBatonError(error) ? error.message : `toggles: ${this.#endpoint}: ${describe(error, controller.signal)}`;
      this.#events.fault(new BatonError('BATON_ERR_TOGGLE_SYNC', `${cause}; keeping the values held.`, { cause: error }));
      return 'fault';
    } finally {
      clearTimeout(timeout);
      if (this.#inFlight === controller) this.#inFlight = undefined;
    }
  }

  #headers(): Record<string, string> {
    const headers: Record<string, string> = {
      authorization: this.#options.token,
      accept: 'application/json',
      'user-agent': this.#options.userAgent,
      'unleash-appname': this.#options.appName,
      'unleash-instanceid': this.#options.instanceId,
      'unleash-interval': String(this.#options.refreshIntervalMs),
      // Segments come once, by id, instead of inlined into every strategy.
      'unleash-client-spec': '5.2.0',
    };
    if (this.#etag !== undefined) headers['if-none-match'] = this.#etag;
    return headers;
  }
}

function describe(error: unknown, signal: AbortSignal): string {
  if (signal.aborted && signal.reason instanceof Error) return signal.reason.message;
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    const detail = cause instanceof Error ? `: ${(cause as NodeJS.ErrnoException).code ?? cause.message}` : '';
    return `${error.message}${detail}`;
  }
  return String(error);
}
