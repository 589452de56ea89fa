import { routerConformance } from '@baton/testing/conformance';
import { routerProvider } from './router-provider.js';

// The suite every Baton router passes, against nginx as users run it (two detached nginx masters).
// nginx changes keep-alive only by reloading its client-facing config, which it never does under clients: no setKeepAlive.
routerConformance('nginx', routerProvider, { keepAlive: false });
