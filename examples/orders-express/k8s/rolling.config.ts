import { defineDeployConfig, type DeployConfig } from '@baton/deploy';
import orders from '../baton.config.js';

// The same service rolled out by a plain Kubernetes Deployment: production's settings, with a
// rolling strategy in place of the canary (a Deployment has no analysis; see the README).
const { environments, pipeline: _pipeline, ...service } = orders;
const production = environments?.['production'] ?? {};
const config: DeployConfig = {
  ...service,
  ...(production.instances === undefined ? {} : { instances: production.instances }),
  strategy: { type: 'rolling', maxSurge: 1, maxUnavailable: 0 },
};
export default defineDeployConfig(config);
