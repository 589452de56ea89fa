import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BatonError } from '@baton/lifecycle';

/** A consumer version selector, passed to the broker as pact-js takes it. */
export interface ConsumerVersionSelector {
  tag?: string;
  latest?: boolean;
  consumer?: string;
  deployedOrReleased?: boolean;
  deployed?: boolean;
  released?: boolean;
  environment?: string;
  fallbackTag?: string;
  branch?: string;
  mainBranch?: boolean;
  matchingBranch?: boolean;
}

/** Where the pacts come from: files, a directory of `*.json` files, or a Pact Broker. */
export type PactSource =
  | { files: readonly string[] }
  | { dir: string }
  | {
      brokerUrl: string;
      consumerVersionSelectors?: readonly ConsumerVersionSelector[];
      token?: string;
      username?: string;
      password?: string;
      enablePending?: boolean;
      includeWipPactsSince?: string;
    };

/** An interaction read from a local pact file. */
export interface LocalInteraction {
  consumer: string;
  description: string;
  states: string[];
}

/** Resolves a source to pact-js options, and, for local files, the interactions they hold. */
export async function resolvePactSource(source: PactSource): Promise<{ options: Record<string, unknown>; interactions: LocalInteraction[] | undefined }> {
  if (!source || typeof source !== 'object') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'verifyProvider: `pacts` must be { files: [...] }, { dir } or { brokerUrl, consumerVersionSelectors? }.');
  }
  if ('brokerUrl' in source) {
    if (typeof source.brokerUrl !== 'string' || !/^https?:\/\//.test(source.brokerUrl)) {
      throw new BatonError('BATON_ERR_INVALID_OPTION', `verifyProvider: pacts.brokerUrl must be an http(s) URL, got ${JSON.stringify(source.brokerUrl)}.`);
    }
    const options: Record<string, unknown> = { pactBrokerUrl: source.brokerUrl };
    if (source.consumerVersionSelectors) options['consumerVersionSelectors'] = [...source.consumerVersionSelectors];
    if (source.token !== undefined) options['pactBrokerToken'] = source.token;
    if (source.username !== undefined) options['pactBrokerUsername'] = source.username;
    if (source.password !== undefined) options['pactBrokerPassword'] = source.password;
    if (source.enablePending !== undefined) options['enablePending'] = source.enablePending;
    if (source.includeWipPactsSince !== undefined) options['includeWipPactsSince'] = source.includeWipPactsSince;
    return { options, interactions: undefined };
  }
  let files: string[];
  if ('dir' in source) {
    if (typeof source.dir !== 'string') throw new BatonError('BATON_ERR_INVALID_OPTION', 'verifyProvider: pacts.dir must be a directory path.');
    let names: string[];
    try {
      names = await readdir(source.dir);
    } catch (error) {
      throw new BatonError('BATON_ERR_INVALID_OPTION', `verifyProvider: cannot read the pact directory ${source.dir}: ${(error as Error).message}`, { cause: error });
    }
    files = names.filter((name) => name.endsWith('.json')).sort().map((name) => join(source.dir, name));
    if (files.length === 0) throw new BatonError('BATON_ERR_INVALID_OPTION', `verifyProvider: no *.json pact files in ${source.dir}.`);
  } else if ('files' in source && Array.isArray(source.files) && source.files.length > 0) {
    files = [...source.files];
  } else {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'verifyProvider: `pacts` must be { files: [at least one path] }, { dir } or { brokerUrl }.');
  }
  const interactions: LocalInteraction[] = [];
  for (const file of files) interactions.push(...(await readPactFile(file)));
  return { options: { pactUrls: files }, interactions };
}

async function readPactFile(file: string): Promise<LocalInteraction[]> {
  let parsed: unknown;
  try {
    if (!(await stat(file)).isFile()) throw new Error('not a file');
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `verifyProvider: ${file} is not a readable JSON pact file: ${(error as Error).message}`, { cause: error });
  }
  const pact = parsed as { consumer?: { name?: unknown }; interactions?: unknown };
  if (!pact || typeof pact !== 'object' || !Array.isArray(pact.interactions) || typeof pact.consumer?.name !== 'string') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `verifyProvider: ${file} is not a pact file (needs consumer.name and an interactions array).`);
  }
  const consumer = pact.consumer.name;
  return (pact.interactions as { description?: unknown; providerState?: unknown; providerStates?: unknown }[]).map((interaction) => {
    const states: string[] = [];
    if (typeof interaction.providerState === 'string') states.push(interaction.providerState);
    if (Array.isArray(interaction.providerStates)) {
      for (const state of interaction.providerStates as { name?: unknown }[]) if (typeof state?.name === 'string') states.push(state.name);
    }
    return { consumer, description: String(interaction.description ?? ''), states };
  });
}
