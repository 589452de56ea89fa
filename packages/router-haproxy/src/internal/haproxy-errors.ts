/** The HAProxy router's two kinds of failure, each message saying which router it came from. */
import { BatonError } from '@baton/lifecycle';

const WHERE = 'HAProxy router';

export function invalid(message: string): BatonError {
  return new BatonError('BATON_ERR_INVALID_OPTION', `${WHERE}: ${message}`);
}

export function routerError(message: string, cause?: unknown): BatonError {
  return new BatonError('BATON_ERR_ROUTER', `${WHERE}: ${message}`, cause === undefined ? undefined : { cause });
}

export function causeText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
