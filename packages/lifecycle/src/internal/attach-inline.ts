/**
 * The key of Lifecycle's internal "attach, but let me call the tracker from my
 * own request listener" method, used by `serve()` for servers it creates: it
 * saves an event listener on every request. Not part of the public API.
 * Registered with `Symbol.for` so a `serve()` of one copy of the package finds
 * the method on a lifecycle made by another copy (see brand.ts); versioned
 * with the method's signature.
 */
export const attachInline: unique symbol = Symbol.for('baton.Lifecycle.attachInline/1');
