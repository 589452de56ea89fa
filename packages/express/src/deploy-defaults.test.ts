import { fileURLToPath } from 'node:url';
import { describeDeployDefaults } from '@baton/testing/deploy-env';

// The README's app with nothing but the environment `baton deploy` sets.
const fixture = fileURLToPath(new URL('../fixtures/plain-app.mjs', import.meta.url));

describeDeployDefaults('an Express app run by b.serve() under PORT=0 and RELEASE=v7 (as baton deploy starts it)', fixture);
