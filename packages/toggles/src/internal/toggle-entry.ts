import { BatonError } from '@baton/lifecycle';
import type { PayloadKind, RegisteredToggle } from '../registry.js';

/** A variant as Baton returns it: the payload parsed to the registry's `payload` type. */
export interface ToggleVariant<P> {
  /** The variant's name; `disabled` when the toggle is off or has no variants. */
  readonly name: string;
  /** True when a variant was assigned. */
  readonly enabled: boolean;
  /** True when the toggle itself is on for this context. */
  readonly featureEnabled: boolean;
  /** The payload, parsed (`json`, `number`) or as is (`string`); `undefined` without one, or when it does not parse. */
  readonly payload: P | undefined;
}

/** What unleash-client's `getVariant` returns (only what Baton reads). */
interface EngineVariant {
  name: string;
  enabled: boolean;
  feature_enabled?: boolean;
  featureEnabled?: boolean;
  payload?: { type: string; value: string };
}

// Variant names come from the server's configuration; past this many per toggle they count as one.
const MAX_VARIANT_SERIES = 100;
const OTHER_VARIANT = '_other';

/**
 * One registry toggle's evaluation state: its fallback, its counts and its
 * parsed variants. Everything the hot path needs is allocated here once.
 */
export class ToggleEntry {
  static readonly unknownVariant: ToggleVariant<undefined> = Object.freeze({ name: 'disabled', enabled: false, featureEnabled: false, payload: undefined });

  readonly name: string;
  readonly fallback: boolean;
  /** Handed to unleash-client, which calls it for a toggle the loaded set lacks. */
  readonly fallbackFunction: () => boolean;
  readonly fallbackVariant: ToggleVariant<undefined>;
  enabledCount = 0;
  disabledCount = 0;
  readonly #payloadKind: PayloadKind | undefined;
  readonly #variantCounts = new Map<string, number>();
  /** Parsed results by variant name, valid while the payload object is the same one. */
  #variants = new Map<string, { payload: unknown; result: ToggleVariant<unknown> }>();

  constructor(toggle: RegisteredToggle) {
    this.name = toggle.name;
    this.fallback = toggle.fallbackValue;
    this.#payloadKind = toggle.payload;
    const fallback = toggle.fallbackValue;
    this.fallbackFunction = () => fallback;
    this.fallbackVariant = Object.freeze({ name: 'disabled', enabled: false, featureEnabled: fallback, payload: undefined });
  }

  /** The Baton result for an engine variant, reused while name and payload are unchanged. */
  variantOf(variant: EngineVariant, onError: (error: BatonError) => void): ToggleVariant<unknown> {
    const featureEnabled = variant.featureEnabled ?? variant.feature_enabled ?? false;
    const cached = this.#variants.get(variant.name);
    if (cached !== undefined && cached.payload === variant.payload && cached.result.featureEnabled === featureEnabled && cached.result.enabled === variant.enabled) {
      return cached.result;
    }
    const result: ToggleVariant<unknown> = Object.freeze({
      name: variant.name,
      enabled: variant.enabled,
      featureEnabled,
      payload: this.#parse(variant, onError),
    });
    if (this.#variants.size < MAX_VARIANT_SERIES) this.#variants.set(variant.name, { payload: variant.payload, result });
    return result;
  }

  countVariant(name: string): void {
    const key = this.#variantCounts.has(name) || this.#variantCounts.size < MAX_VARIANT_SERIES ? name : OTHER_VARIANT;
    this.#variantCounts.set(key, (this.#variantCounts.get(key) ?? 0) + 1);
  }

  /** New features were loaded: parsed payloads may be stale. */
  invalidate(): void {
    this.#variants = new Map();
  }

  counts(): { toggle: string; result: string; count: number }[] {
    const counts = [];
    if (this.enabledCount > 0) counts.push({ toggle: this.name, result: 'true', count: this.enabledCount });
    if (this.disabledCount > 0) counts.push({ toggle: this.name, result: 'false', count: this.disabledCount });
    for (const [variant, count] of this.#variantCounts) counts.push({ toggle: this.name, result: variant, count });
    return counts;
  }

  #parse(variant: EngineVariant, onError: (error: BatonError) => void): unknown {
    const payload = variant.payload;
    if (payload === undefined || this.#payloadKind === undefined) return undefined;
    const fail = (what: string): undefined => {
      onError(new BatonError('BATON_ERR_TOGGLE_EVALUATION', `toggles: the payload of variant "${variant.name}" of "${this.name}" ${what}; served without a payload.`));
      return undefined;
    };
    if (typeof payload.value !== 'string') return fail('has no string value');
    switch (this.#payloadKind) {
      case 'string':
        return payload.value;
      case 'number': {
        const number = payload.value.trim() === '' ? Number.NaN : Number(payload.value);
        return Number.isFinite(number) ? number : fail(`is not a number (${JSON.stringify(payload.value.slice(0, 40))})`);
      }
      case 'json':
        try {
          return JSON.parse(payload.value) as unknown;
        } catch {
          return fail(`is not JSON (${JSON.stringify(payload.value.slice(0, 40))})`);
        }
    }
  }
}
