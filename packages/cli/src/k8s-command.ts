import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigFile } from './load-config.js';
import type { CliIo } from './run-cli.js';

export const K8S_HELP = `Usage: baton k8s render [options]

Writes the service's Kubernetes objects for one release, from baton.config: a Deployment (rolling),
or an Argo Rollouts Rollout (canary, blue/green) with the AnalysisTemplates of its analysis steps;
its Services and a PodDisruptionBudget. Probes, terminationGracePeriodSeconds and any preStop pause
come from the service's lifecycle (the config's kubernetes.shutdown); the analysis is Baton's, as
Prometheus queries. Needs @baton/k8s (pnpm add -D @baton/k8s).

Options:
  -c, --config <file>  the deploy config (default: baton.config.{ts,mts,js,mjs,json} in the working directory)
      --env <name>     the environment (of a config with environments)
      --release <v>    the version label to render (default: the config's release.version)
      --image <ref>    the image pinned by digest (registry/orders@sha256:<64 hex>); default: the
                       release record's image (baton release create), which must be in a registry
      --out <dir>      one file per object in <dir> (<kind>-<name>.yaml); default: one YAML stream on stdout
  -h, --help           this help

Exit codes: 0 written, 2 bad usage, config or release (nothing written), 3 could not run.`;

/** `baton k8s render`: resolves the config as `baton deploy` does and writes what @baton/k8s renders. */
export async function runK8sCommand(argv: readonly string[], io: CliIo, lookupFrom: string): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '-h' || sub === '--help') {
    io.stdout.write(`${K8S_HELP}\n`);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'render') {
    io.stderr.write(`baton k8s: unknown subcommand "${sub}"; the one there is: baton k8s render.\n\n${K8S_HELP}\n`);
    return 2;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: [...rest],
      options: {
        config: { type: 'string', short: 'c' },
        env: { type: 'string' },
        release: { type: 'string' },
        image: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    io.stderr.write(`baton k8s render: ${message(error)}\n\n${K8S_HELP}\n`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(`${K8S_HELP}\n`);
    return 0;
  }
  let k8s: typeof import('@baton/k8s');
  try {
    // An optional peer: only services that go to a cluster install it (and its schemas).
    k8s = await import('@baton/k8s');
  } catch (error) {
    io.stderr.write(`baton k8s render: @baton/k8s is not installed (${message(error)}); add it with \`pnpm add -D @baton/k8s\`.\n`);
    return 3;
  }
  const deploy = await import('@baton/deploy');
  let rendered;
  try {
    const file = await loadConfigFile(io.cwd, values.config);
    const input = file.config as Record<string, unknown>;
    if (values.release !== undefined && typeof input === 'object' && input !== null && typeof input['release'] === 'object') {
      input['release'] = { ...(input['release'] as object), version: values.release };
    }
    const config = deploy.resolveDeployConfig(input, { cwd: io.cwd, lookupFrom: [lookupFrom], ...(values.env === undefined ? {} : { environment: values.env }) });
    if (config.environments.length > 0 && config.environment === undefined) {
      io.stderr.write(`baton k8s render: the config declares environments (${config.environments.join(', ')}): say which with --env <name>, e.g. baton k8s render --env ${config.environments[0]}.\n`);
      return 2;
    }
    const version = config.release.version;
    const record = values.image === undefined ? await deploy.createReleaseRegistry(deploy.statePaths(config.serviceDir).releases).read(version) : undefined;
    const release = k8s.releaseImage(version, { ...(values.image === undefined ? {} : { image: values.image }), ...(record === undefined ? {} : { record }) });
    rendered = k8s.renderManifests(config, release);
  } catch (error) {
    io.stderr.write(`baton k8s render: ${message(error)}\n`);
    return 2;
  }
  try {
    if (values.out === undefined) {
      io.stdout.write(k8s.toYamlStream(rendered));
      return 0;
    }
    const dir = resolve(io.cwd, values.out);
    await mkdir(dir, { recursive: true });
    const files = k8s.toYamlFiles(rendered);
    for (const file of files) await writeFile(resolve(dir, file.file), file.text);
    io.stdout.write(`Wrote ${files.length} objects of ${rendered.service} ${rendered.version}${rendered.environment === undefined ? '' : ` (${rendered.environment})`} to ${dir}: ${files.map((file) => file.file).join(', ')}.\n`);
    return 0;
  } catch (error) {
    io.stderr.write(`baton k8s render: ${message(error)}\n`);
    return 3;
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
