import { routerConformance } from '@baton/testing/conformance';
import { routerProvider } from './router-provider.js';

// The suite every Baton router passes, against nginx as users run it (two detached nginx masters).
routerConformance('nginx', routerProvider);
