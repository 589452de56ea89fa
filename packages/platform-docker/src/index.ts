export { platformProvider } from './platform-provider.js';
export { createDockerPlatform, type DockerPlatform, type DockerPlatformOptions, type DockerInstanceRecord } from './docker-platform.js';
export { resolveDockerConfig, type DockerPlatformConfig, type DockerHostConfig } from './docker-config.js';
