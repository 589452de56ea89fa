import { routerConformance } from '@baton/testing/conformance';
import { routerProvider } from './router-provider.js';

// The suite every Baton router passes, against a real HAProxy (skipped, saying so, where HAProxy is not installed).
routerConformance('HAProxy router', routerProvider);
