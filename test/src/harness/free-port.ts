// The same probe HAProxy's router uses (bind port 0, read it back, close), from @baton/deploy.
export { findFreePort } from '@baton/deploy';
