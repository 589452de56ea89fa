import { platformConformance } from '@baton/testing/conformance';

// The suite every Baton platform passes, against the built local process platform
// (built code: the suite also creates it from an orchestrator process of its own).
platformConformance('local processes', { module: new URL('../dist/index.js', import.meta.url).href });
