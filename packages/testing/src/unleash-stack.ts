// Real Unleash over real PostgreSQL for tests: `@baton/testing/unleash`.
export { startPostgres, type TestDatabase } from './unleash/postgres.js';
export { startUnleash, type UnleashServer, type ToggleSpec } from './unleash/unleash.js';
