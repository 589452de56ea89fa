import { BatonError } from '@baton/lifecycle';
import { PACT_UNAVAILABLE } from './codes.js';

/** The part of @pact-foundation/pact that verification uses. */
export interface PactModule {
  Verifier: new (options: Record<string, unknown>) => { verifyProvider(): Promise<string> };
}

/**
 * Imports @pact-foundation/pact on first use, so that importing
 * @baton/contracts costs nothing and a missing install fails with a reason.
 */
export async function loadPact(importer: () => Promise<unknown> = () => import('@pact-foundation/pact')): Promise<PactModule> {
  let loaded: unknown;
  try {
    loaded = await importer();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const native = /pact[-_]?(core|ffi)|\.node\b|libpact/i.test(message);
    throw new BatonError(
      PACT_UNAVAILABLE,
      native
        ? `@baton/contracts: the native Pact library (@pact-foundation/pact-core's platform package) could not be loaded: ${message}. ` +
            'It is an optional dependency: install without --omit=optional / --no-optional, on a supported platform (e.g. linux-x64-glibc).'
        : `@baton/contracts: the package @pact-foundation/pact could not be loaded: ${message}. ` +
            'Install it (`pnpm add -D @pact-foundation/pact@17.1.4`), and keep optional dependencies (its native library is one).',
      { cause: error },
    );
  }
  const module = loaded as Partial<PactModule> & { default?: Partial<PactModule> };
  const Verifier = module.Verifier ?? module.default?.Verifier;
  if (typeof Verifier !== 'function') {
    throw new BatonError(PACT_UNAVAILABLE, '@baton/contracts: @pact-foundation/pact was loaded but exports no Verifier; use version 17.x.');
  }
  return { Verifier };
}
