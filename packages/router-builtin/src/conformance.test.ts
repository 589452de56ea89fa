import { routerConformance } from '@baton/testing/conformance';
import { routerProvider } from './router-provider.js';

// The suite every Baton router passes, against the built-in router as users run it (a detached process).
routerConformance('built-in router', routerProvider);
