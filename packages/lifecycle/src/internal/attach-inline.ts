/**
 * The key of Lifecycle's internal "attach, but let me call the tracker from my
 * own request listener" method, used by `serve()` for servers it creates: it
 * saves an event listener on every request. Not part of the public API.
 */
export const attachInline = Symbol('baton.attachInline');
