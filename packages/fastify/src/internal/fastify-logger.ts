import type { FastifyBaseLogger } from 'fastify';
import type { Logger } from '@baton/lifecycle';

/**
 * Baton's logger interface over Fastify's (pino takes fields first, message
 * second). The lifecycle then logs where the app already logs, and stays quiet
 * when the app's logger is off, which is Fastify's default.
 */
export function fromFastifyLogger(log: FastifyBaseLogger): Logger {
  const entry =
    (level: 'info' | 'warn' | 'error') =>
    (message: string, fields?: Record<string, unknown>): void => {
      if (fields) log[level](fields, message);
      else log[level](message);
    };
  return { info: entry('info'), warn: entry('warn'), error: entry('error') };
}

/**
 * False for the logger Fastify uses when the app was created without one (its
 * default): a no-op object with no `level`, every method the same function.
 * Pino, and any logger given to Fastify, has a `level`.
 */
export function hasFastifyLogger(log: FastifyBaseLogger): boolean {
  const candidate = log as Partial<FastifyBaseLogger>;
  return typeof candidate.level === 'string' || !(log.info === log.error && log.info === log.warn);
}
