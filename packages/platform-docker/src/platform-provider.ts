import type { PlatformProvider } from '@baton/deploy';
import { createDockerPlatform } from './docker-platform.js';

/** `platform: { kind: 'docker', hosts: [...] }`: the service's instances as containers on Docker engines. */
export const platformProvider: PlatformProvider = {
  kind: 'docker',
  displayName: 'Docker containers',
  create: (settings) =>
    createDockerPlatform({
      service: settings.service,
      config: settings.options,
      port: settings.port,
      listenTimeoutMs: settings.listenTimeoutMs,
      routerDrainsFirst: settings.routerDrainsFirst,
    }),
};
