import type { ResolvedDeployConfig } from '../deploy-config.js';
import type { DeployEvent } from '../model.js';
import { redactSecretPatterns } from '../secrets.js';
import { brokerAuth, safeUrl } from './contracts-gate.js';

/**
 * After a release took all traffic in an environment whose contracts gate
 * asks a Pact Broker: tells the broker, as `pact-broker record-deployment`
 * does, so its can-i-deploy answers — this service's next promotion, and its
 * consumers' deploys — know what runs there (the version deployed before
 * it there is marked undeployed by the broker). A broker that cannot be
 * told costs a warning event, not the deploy: the release serves already.
 * Undefined when no broker is configured.
 */
export async function recordBrokerDeployment(
  config: ResolvedDeployConfig,
  version: string,
  options: { env: Readonly<Record<string, string | undefined>>; signal?: AbortSignal; now?: () => number },
): Promise<DeployEvent | undefined> {
  const contracts = config.gates.contracts;
  const broker = contracts?.broker;
  if (contracts === undefined || broker === undefined) return undefined;
  const atMs = (options.now ?? Date.now)();
  const pacticipant = broker.pacticipant ?? contracts.provider ?? config.service;
  const environment = broker.environment ?? config.environment ?? config.service;
  const what = `${pacticipant} ${version} deployed to ${environment}`;
  const credentials = brokerAuth(options.env);
  const failed = (why: string): DeployEvent => {
    let text = why;
    for (const secret of credentials.secrets) if (secret !== '') text = text.split(secret).join('[redacted]');
    return {
      atMs,
      type: 'broker-record-failed',
      message: `The Pact Broker was not told that ${what}: ${redactSecretPatterns(text)}. Record it by hand: pact-broker record-deployment --pacticipant ${pacticipant} --version ${version} --environment ${environment}.`,
      data: { pacticipant, version, environment },
    };
  };
  const url = broker.url ?? present(options.env['PACT_BROKER_BASE_URL']);
  if (url === undefined) return failed('no broker URL (gates.contracts.broker.url, or PACT_BROKER_BASE_URL)');
  if (credentials.problem !== undefined) return failed(credentials.problem);
  let client: typeof import('@baton/contracts');
  try {
    client = await import('@baton/contracts');
  } catch (error) {
    return failed(`@baton/contracts could not be loaded (${error instanceof Error ? error.message : String(error)})`);
  }
  try {
    const recorded = await client.recordDeployment({
      brokerUrl: url,
      pacticipant,
      version,
      environment,
      ...(credentials.auth === undefined ? {} : { auth: credentials.auth }),
      ...(broker.timeoutMs === undefined ? {} : { timeoutMs: broker.timeoutMs }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    return {
      atMs,
      type: 'broker-deployment-recorded',
      message: `Recorded in the Pact Broker at ${safeUrl(url)}: ${what}.`,
      data: { pacticipant, version, environment, ...(recorded.deployedVersionUrl === undefined ? {} : { deployedVersion: safeUrl(recorded.deployedVersionUrl) }) },
    };
  } catch (error) {
    return failed(error instanceof Error ? error.message : String(error));
  }
}

function present(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
