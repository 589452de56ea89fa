export { platformProvider } from './platform-provider.js';
export { createLocalProcessPlatform, type LocalProcessPlatform, type LocalProcessPlatformOptions, type LocalInstanceRecord } from './local-process-platform.js';
