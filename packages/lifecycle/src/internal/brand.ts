/**
 * Brands that say "made by Baton" across copies of a package. npm may install
 * two copies of `@baton/lifecycle` in one app (an adapter pinned to another
 * version than the one the app imports); each copy has its own classes, so
 * `instanceof` alone says "no" to the other copy's objects. `Symbol.for` keys
 * are shared by every copy in the process, so a brand on the prototype is
 * seen by all of them.
 *
 * The brand's value is the version of the contract the branded objects keep
 * (the public members other packages use); it changes only when that does.
 */
export const BRAND_VERSION = 1;

/** Brand of `Lifecycle` instances. */
export const LIFECYCLE_BRAND: unique symbol = Symbol.for('baton.Lifecycle');

/** Brand of `BatonError` instances (and of its subclasses'). */
export const BATON_ERROR_BRAND: unique symbol = Symbol.for('baton.BatonError');

/** True when `value` carries `brand` (set by any copy of the package). */
export function hasBrand(value: unknown, brand: symbol): boolean {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  return typeof (value as Record<symbol, unknown>)[brand] === 'number';
}

/** Puts `brand` on a class's prototype: not enumerable, so it never shows in logs or JSON. */
export function brandPrototype(target: { prototype: object }, brand: symbol): void {
  Object.defineProperty(target.prototype, brand, { value: BRAND_VERSION, enumerable: false, writable: false, configurable: false });
}
