/**
 * The proxy as a proxied exchange or tunnel sees it, and the failure vocabulary both share.
 */
import type { Pool } from 'undici';
import type { Logger } from '@baton/lifecycle';
import type { ResolvedProxyOptions } from '../builtin-proxy-options.js';
import type { Backend } from './backend-table.js';
import type { ShadowMirror } from './shadow-mirror.js';

/** What one exchange or tunnel needs from the proxy (kept narrow so neither can touch the table). */
export interface ExchangeHost {
  closed: boolean;
  logger: Logger;
  options: ResolvedProxyOptions;
  /** True for a request target public clients must not reach (metrics, probe details): answered 404. */
  hidden(target: string): boolean;
  /** Waits for a turn to stream a body larger than the buffer; call the release once the exchange is over. */
  streamTurn(): Promise<() => void>;
  pick(exclude: ReadonlySet<Backend>, avoid: ReadonlySet<Backend>): Backend | undefined;
  poolOf(backend: Backend): Pool;
  started(backend: Backend): void;
  finished(backend: Backend): void;
  connectFailed(backend: Backend, code: string): void;
  connectSucceeded(backend: Backend): void;
  /** The shadow step's mirror while one runs. */
  shadow: ShadowMirror | undefined;
}

/** Backends one request may be tried on. */
export const MAX_ATTEMPTS = 4;

export const NO_BACKEND_MESSAGE = 'Service Unavailable: no backend is ready in the Baton router (every backend is in maint or drain, or none was added).';

/** Errors of connecting: the backend is not there (or not reachable); it is skipped for a while. */
export const CONNECT_FAILED = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'UNKNOWN';
}

/** A request's path for undici: origin-form as is; absolute-form (`GET http://h/p`) reduced to its path. */
export function originForm(url: string | undefined): string {
  if (url === undefined || url === '') return '/';
  if (url.startsWith('/')) return url;
  try {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return url;
  }
}
