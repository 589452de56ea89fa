/** The built-in router's two kinds of failure, each message saying which router it came from. */
import { BatonError } from '@baton/lifecycle';

const WHERE = 'built-in router';

export function invalid(message: string): BatonError {
  return new BatonError('BATON_ERR_INVALID_OPTION', `${WHERE}: ${message}`);
}

export function routerError(message: string, cause?: unknown): BatonError {
  return new BatonError('BATON_ERR_ROUTER', `${WHERE}: ${message}`, cause === undefined ? undefined : { cause });
}
