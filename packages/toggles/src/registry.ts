import { BatonError } from '@baton/lifecycle';

/**
 * What a toggle is for, as Unleash names the types. The kind decides how the
 * toggle fails when no value was ever loaded, and how long it should live.
 */
export type ToggleKind = 'release' | 'experiment' | 'operational' | 'kill-switch' | 'permission';

/** How a variant's payload is parsed: Unleash sends every payload as a string with one of these types. */
export type PayloadKind = 'json' | 'string' | 'number';

/** The TypeScript type of a parsed payload of each kind. */
export interface PayloadTypes {
  json: unknown;
  string: string;
  number: number;
}

/** One toggle in the registry: the source of truth for its name, kind, default and owner. */
export interface ToggleDefinition {
  kind: ToggleKind;
  /** The value before any source answered, and the fallback policy's starting point. */
  default: boolean;
  /** What the toggle does, for people reading the registry and the health output. */
  description: string;
  /** Who to ask (a team or a person). */
  owner?: string;
  /** When the toggle should be gone (ISO date, `2027-03-31`): past it, the registry reports it as expired. */
  expires?: string;
  /** The payload type of its variants, when it has variants. */
  payload?: PayloadKind;
  /**
   * The value served while no source ever loaded anything good (the server
   * was never reached and there is no bootstrap or snapshot), and for a toggle
   * the source does not know. Defaults by kind: see {@link fallbackFor}.
   */
  fallback?: boolean;
}

/** The definitions a registry was made from, by toggle name. */
export type ToggleDefinitions = Readonly<Record<string, ToggleDefinition>>;

/** The payload type of toggle `N` of registry `D`: `undefined` when it declares no payload. */
export type PayloadOf<D extends ToggleDefinitions, N extends keyof D> = D[N] extends { payload: infer K extends PayloadKind } ? PayloadTypes[K] : undefined;

/** A toggle's definition with its name and its parsed expiry. */
export interface RegisteredToggle extends ToggleDefinition {
  name: string;
  /** The fallback actually used: `fallback` if given, else the kind's policy ({@link fallbackFor}). */
  fallbackValue: boolean;
  /** `expires` as a time (ms since the epoch, end of that day UTC), if given. */
  expiresAtMs?: number;
}

/**
 * The typed registry of a service's toggles: the names `isEnabled` and
 * `getVariant` accept are checked at compile time against it.
 */
export interface ToggleRegistry<D extends ToggleDefinitions> {
  /** Every toggle name, in definition order. */
  readonly names: readonly (keyof D & string)[];
  /** The definition of one toggle. */
  get<N extends keyof D & string>(name: N): RegisteredToggle;
  /** True when `name` is a toggle of this registry (for names that come from outside, e.g. a header). */
  has(name: string): name is keyof D & string;
  /** Toggles whose `expires` date has passed at `nowMs`: candidates for removal. */
  expired(nowMs?: number): RegisteredToggle[];
  /** The definitions as given (typed). */
  readonly definitions: D;
}

/**
 * The fallback policy of each kind, for when nothing good was ever loaded:
 * code behind a release, experiment or permission toggle stays dark (fails
 * closed: unreleased or unpaid features are not switched on by an outage); a
 * kill switch keeps its functionality on (fails safe: a switch is for people
 * to pull, not for a toggle-server outage); an operational toggle keeps its
 * declared `default`.
 */
export function fallbackFor(definition: Pick<ToggleDefinition, 'kind' | 'default' | 'fallback'>): boolean {
  if (definition.fallback !== undefined) return definition.fallback;
  switch (definition.kind) {
    case 'kill-switch':
      return true;
    case 'operational':
      return definition.default;
    default:
      return false;
  }
}

const KINDS: ReadonlySet<string> = new Set<ToggleKind>(['release', 'experiment', 'operational', 'kill-switch', 'permission']);
const PAYLOADS: ReadonlySet<string> = new Set<PayloadKind>(['json', 'string', 'number']);
// Unleash's own rule for feature names: URL-friendly, at most 100 characters.
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9._~-]{0,99}$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Declares a service's toggles once, as the source of truth: names, kinds,
 * defaults, owners, expiry dates and payload types. Every definition is
 * checked now, with an error naming the toggle and what is accepted.
 *
 * @example
 * export const toggles = defineToggles({
 *   newCheckout: { kind: 'release', default: false, description: 'The one-page checkout', owner: 'payments', expires: '2027-03-31' },
 *   checkoutColour: { kind: 'experiment', default: false, description: 'Button colour test', payload: 'string' },
 *   payments: { kind: 'kill-switch', default: true, description: 'Card payments (turn off to stop taking cards)' },
 * });
 */
export function defineToggles<const D extends ToggleDefinitions>(definitions: D): ToggleRegistry<D> {
  if (definitions === null || typeof definitions !== 'object' || Array.isArray(definitions)) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'defineToggles: give an object of toggle name → definition.');
  }
  const registered = new Map<string, RegisteredToggle>();
  for (const [name, definition] of Object.entries(definitions)) {
    registered.set(name, check(name, definition));
  }
  if (registered.size === 0) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'defineToggles: define at least one toggle.');
  }
  const names = Object.freeze([...registered.keys()]) as readonly (keyof D & string)[];
  return Object.freeze({
    names,
    definitions,
    get(name: string) {
      const toggle = registered.get(name);
      if (toggle === undefined) {
        throw new BatonError('BATON_ERR_INVALID_OPTION', `toggles: "${name}" is not in the registry; known: ${names.join(', ')}.`);
      }
      return toggle;
    },
    has(name: string): name is keyof D & string {
      return registered.has(name);
    },
    expired(nowMs = Date.now()) {
      return [...registered.values()].filter((toggle) => toggle.expiresAtMs !== undefined && toggle.expiresAtMs < nowMs);
    },
  });
}

function check(name: string, definition: ToggleDefinition): RegisteredToggle {
  const fail = (what: string): never => {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `defineToggles: toggle "${name}": ${what}`);
  };
  if (!NAME.test(name)) fail('the name must be 1 to 100 characters of letters, digits, ".", "_", "~" and "-", starting with a letter or digit (Unleash\'s rule).');
  if (definition === null || typeof definition !== 'object') return fail('the definition must be an object.');
  if (!KINDS.has(definition.kind)) fail(`\`kind\` must be one of ${[...KINDS].join(', ')}; got ${JSON.stringify(definition.kind)}.`);
  if (typeof definition.default !== 'boolean') fail(`\`default\` must be true or false; got ${JSON.stringify(definition.default)}.`);
  if (typeof definition.description !== 'string' || definition.description.trim() === '') fail('`description` must say what the toggle does.');
  if (definition.owner !== undefined && (typeof definition.owner !== 'string' || definition.owner.trim() === '')) fail('`owner` must be a non-empty string.');
  if (definition.payload !== undefined && !PAYLOADS.has(definition.payload)) {
    fail(`\`payload\` must be one of ${[...PAYLOADS].join(', ')}; got ${JSON.stringify(definition.payload)}.`);
  }
  if (definition.fallback !== undefined && typeof definition.fallback !== 'boolean') fail(`\`fallback\` must be true or false; got ${JSON.stringify(definition.fallback)}.`);
  const registered: RegisteredToggle = { ...definition, name, fallbackValue: fallbackFor(definition) };
  if (definition.expires !== undefined) {
    const at = typeof definition.expires === 'string' && ISO_DATE.test(definition.expires) ? Date.parse(`${definition.expires}T23:59:59.999Z`) : Number.NaN;
    if (Number.isNaN(at)) fail(`\`expires\` must be a date like 2027-03-31; got ${JSON.stringify(definition.expires)}.`);
    registered.expiresAtMs = at;
  }
  return Object.freeze(registered);
}
