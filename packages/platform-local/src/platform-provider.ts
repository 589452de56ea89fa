import type { PlatformProvider } from '@baton/deploy';
import { createLocalProcessPlatform } from './local-process-platform.js';

/** `platform: { kind: 'local' }`, the default: the service's instances as processes on this machine, bundled releases from the state directory's artifact store. */
export const platformProvider: PlatformProvider = {
  kind: 'local',
  displayName: 'local processes',
  create: (settings) =>
    createLocalProcessPlatform({
      stateDir: settings.dir,
      artifactsDir: settings.artifactsDir,
      port: settings.port,
      listenTimeoutMs: settings.listenTimeoutMs,
      routerDrainsFirst: settings.routerDrainsFirst,
    }),
};
