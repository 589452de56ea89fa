import type { ResolvedDeployConfig } from '../deploy-config.js';
import { createRedactor, secretValuesOf, type Redactor } from '../secrets.js';
import type { ServiceState } from '../service-state.js';

/** Scrubs the secrets of every release the config and the state know, and of the orchestrator's environment. */
export function serviceRedactor(config: ResolvedDeployConfig, state: ServiceState | undefined): Redactor {
  const releases = [config.release, state?.stable, state?.previous, state?.deploy?.candidate];
  return createRedactor([
    ...releases.flatMap((release) => (release === undefined ? [] : secretValuesOf(release, process.env))),
    ...(config.metricsToken === undefined ? [] : [config.metricsToken]),
  ]);
}
