import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isBatonError } from '@baton/lifecycle';
import { createProgressRenderer, type Output } from './progress.js';
import { loadConfigFile } from './load-config.js';
import { runApprove, runHistory, runStatusOfEvery } from './environment-commands.js';
import { runReleaseCreate, runReleases } from './release-commands.js';
import { runK8sCommand } from './k8s-command.js';

/** This package's directory: its dependencies (`@baton/router-builtin`, `@baton/platform-local`) are the embedded defaults. */
const CLI_PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

/** What the CLI reads and writes: the process's by default, a test's in tests. */
export interface CliIo {
  stdout: Output;
  stderr: Output;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Aborted on Ctrl-C / SIGTERM: a running deploy stops watching (its state is journaled; run it again to resume). */
  signal?: AbortSignal;
  /** Where instances run instead of the local process platform (tests inject one whose `stop` fails). */
  platform?: import('@baton/deploy').Platform;
}

/** Exit codes, stable for scripts and CI. */
export const EXIT = {
  ok: 0,
  /** The deploy failed and was rolled back (or could not be). */
  deployFailed: 1,
  /** Bad usage, an invalid config, or a release refused (its version is recorded with another artifact): nothing was started or moved. */
  usage: 2,
  /** The command could not run (router unreachable, journal locked...). */
  error: 3,
  /**
   * The deploy succeeded, but an instance of the old release could not be
   * stopped (it is out of traffic and may still run): see the warning and
   * the report; the next deploy or `baton down` tries again.
   */
  stopFailed: 4,
  /** A gate refused the release (contracts, migrations, soak, approval, the previous environment): nothing was started and no traffic moved; the gates say why. */
  refused: 5,
  /** Interrupted (Ctrl-C): the deploy stopped at a safe point and stays open; the same command resumes it. */
  interrupted: 130,
} as const;

const HELP = `Usage: baton <command> [options]

Commands:
  deploy               deploy the config's release (resumes an interrupted deploy of it), after its gates
  status               the stable release, instances, router backends and any deploy in progress
                       (every environment's, without --env)
  history              the environment's deploys and refusals: when, release, how, outcome, by whom
  promote <v> --to <env>  deploy release <v>'s artifact, which passed the environment before <env>, after the gates
  promote              let a paused canary go on
  approve <v> [--env <env>]  approve release <v> for the environment (its approval gate)
  abort                stop the deploy in progress and roll it back
  rollback [--to <v>]  roll back the deploy in progress, or go back to the previous release (or to <v>)
  down                 stop every instance and the router; history, reports and logs stay
  release create       pin the config's release to its artifact and record it (baton deploy does it too)
  releases             the recorded releases: version, created, artifact, source revision, where deployed
  migrations check <dir>  check SQL migrations for backward compatibility (see baton migrations --help)
  k8s render           the service's Kubernetes / Argo Rollouts objects for a release (see baton k8s --help)

Router: clients reach the service through the router, on the config's router.port; without one, on a
free port picked when the router starts (baton deploy prints the address, baton status shows it), kept
until baton down.

Options:
  -c, --config <file>  the deploy config (default: baton.config.{ts,mts,js,mjs,json} in the working directory)
      --release <v>    deploy (or create) this version label instead of the config's (the command and env stay)
      --env <name>     the environment (of a config with environments): deploy, status, history, rollback...
      --to <v|env>     rollback: the release to go back to; promote <v>: the environment to promote to
      --limit <n>      history: the newest n entries
      --json           machine output: one JSON event per line (deploy), one JSON document (status, releases)
  -h, --help           this help

A release is immutable: a version is recorded with its artifact's digest once, and a build of that
version with another artifact is refused (exit 2); baton rollback runs the previous release's exact artifact.

Exit codes: 0 done, 1 the deploy failed and was rolled back, 2 bad usage or config, or a release
refused, 3 could not run,
4 deployed but an old instance could not be stopped (out of traffic, may still run; see the report),
5 a gate refused the release (nothing started, no traffic moved),
130 interrupted (Ctrl-C: the deploy stops at a safe point and stays open; run the command again to resume).`;

/**
 * The whole `baton` command, testable in-process: parses `argv`, runs the
 * command, writes to `io`, and resolves with the exit code.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    io.stdout.write(`${HELP}\n`);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  if (command === 'migrations') return runMigrations(rest, io);
  if (command === 'k8s') return runK8sCommand(rest, io, CLI_PACKAGE_DIR);
  // `release create`: a command of two words; the rest parses like every other command's options.
  let action = command;
  if (command === 'release') {
    const sub = rest.shift();
    if (sub === '-h' || sub === '--help') {
      io.stdout.write(`${HELP}\n`);
      return EXIT.ok;
    }
    if (sub !== 'create') {
      io.stderr.write(`baton release: ${sub === undefined ? 'a subcommand is needed' : `unknown subcommand "${sub}"`}; the one there is: baton release create [--release <v>].\n\n${HELP}\n`);
      return EXIT.usage;
    }
    action = 'release create';
  }

  let parsed;
  try {
    parsed = parseArgs({
      args: [...rest],
      options: {
        config: { type: 'string', short: 'c' },
        release: { type: 'string' },
        env: { type: 'string' },
        to: { type: 'string' },
        limit: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    io.stderr.write(`baton ${action}: ${error instanceof Error ? error.message : String(error)}\n\n${HELP}\n`);
    return EXIT.usage;
  }
  if (parsed.values.help) {
    io.stdout.write(`${HELP}\n`);
    return EXIT.ok;
  }
  const commands = ['deploy', 'status', 'history', 'promote', 'approve', 'abort', 'rollback', 'down', 'release create', 'releases'];
  if (!commands.includes(action)) {
    io.stderr.write(`baton: unknown command "${command}"; one of ${[...commands, 'migrations', 'k8s render'].join(', ')}.\n\n${HELP}\n`);
    return EXIT.usage;
  }
  const usage = (text: string): number => {
    io.stderr.write(`baton ${action}: ${text}\n`);
    return EXIT.usage;
  };
  const { values, positionals } = parsed;
  // `promote v2 --to production` takes a release through the pipeline; `promote` alone lets a paused canary go on.
  const version = positionals[0];
  const pipelinePromote = action === 'promote' && (version !== undefined || values.to !== undefined);
  if (positionals.length > (action === 'approve' || action === 'promote' ? 1 : 0)) return usage(`unexpected argument${positionals.length > 1 ? 's' : ''} ${positionals.map((p) => JSON.stringify(p)).join(' ')}.`);
  if (pipelinePromote && (version === undefined || values.to === undefined)) return usage('promote a release with baton promote <version> --to <environment>, e.g. baton promote v2 --to production.');
  if (pipelinePromote && values.env !== undefined) return usage(`the environment to promote to is --to ${values.to}; --env is not used with it.`);
  if (action === 'approve' && version === undefined) return usage('approve a release with baton approve <version> [--env <environment>], e.g. baton approve v2 --env production.');
  if (values.to !== undefined && action !== 'rollback' && !pipelinePromote) return usage('--to is for baton rollback --to <version> and baton promote <version> --to <environment>.');
  if (values.limit !== undefined && (action !== 'history' || !/^[1-9]\d{0,5}$/.test(values.limit))) return usage(action === 'history' ? `--limit: a whole number from 1; got ${JSON.stringify(values.limit)}.` : '--limit is for baton history.');
  const environment = pipelinePromote ? values.to : values.env;

  const deploy = await import('@baton/deploy');
  let config;
  let input: Record<string, unknown> = {};
  const resolveFor = (name: string | undefined) => deploy.resolveDeployConfig(input, { cwd: io.cwd, lookupFrom: [CLI_PACKAGE_DIR], ...(name === undefined ? {} : { environment: name }) });
  try {
    const file = await loadConfigFile(io.cwd, values.config);
    input = file.config as Record<string, unknown>;
    if (values.release !== undefined && typeof input === 'object' && input !== null && typeof input['release'] === 'object') {
      input['release'] = { ...(input['release'] as object), version: values.release };
    }
    // Routers and platforms are looked up in the project first, then beside the CLI (which brings the built-in router and the local platform).
    config = resolveFor(environment);
  } catch (error) {
    io.stderr.write(`baton ${action}: ${message(error)}\n`);
    return EXIT.usage;
  }
  // A command about one environment's instances needs to know which; the service's releases and status do not.
  if (config.environments.length > 0 && config.environment === undefined && !['status', 'releases', 'release create'].includes(action)) {
    return usage(`the config declares environments (${config.environments.join(', ')}): say which with --env <name>, e.g. baton ${action}${version === undefined ? '' : ` ${version}`} --env ${config.environments[0]}.`);
  }

  const json = values.json;
  const onEvent = json ? (event: unknown) => io.stdout.write(`${JSON.stringify(event)}\n`) : createProgressRenderer(io.stdout);
  const resolved = config;
  const commandOptions = { onEvent, env: io.env, ...(io.signal ? { signal: io.signal } : {}), ...(io.platform ? { platform: io.platform } : {}) };
  const finish = (outcome: import('@baton/deploy').DeployCommandOutcome): number => {
    if (!json) {
      const verb =
        outcome.phase === 'succeeded'
          ? `Deployed ${outcome.to}${resolved.environment === undefined ? '' : ` to ${resolved.environment}`}`
          : outcome.phase === 'rolled-back'
            ? `Rolled back ${outcome.to}: ${outcome.reason ?? ''}`
            : outcome.phase === 'interrupted'
              ? `Interrupted: the deploy of ${outcome.to} is still open; run the same command to resume it, or baton rollback.`
              : `Deploy of ${outcome.to} ${outcome.phase}: ${outcome.reason ?? ''}`;
      io.stdout.write(`\n${verb}\n`);
      if (outcome.report) io.stdout.write(`Report: ${outcome.report.html}\n`);
    } else if (outcome.report) {
      io.stdout.write(`${JSON.stringify({ type: 'report', json: outcome.report.json, html: outcome.report.html })}\n`);
    }
    warnStopFailures(outcome, io);
    return exitFor(outcome);
  };
  const deployOrRollback = async (what: 'deploy' | 'rollback', rollbackTo?: string): Promise<number> =>
    finish(await deploy.runDeployCommand(resolved, what, { ...commandOptions, ...(rollbackTo === undefined ? {} : { rollbackTo }) }));
  try {
    switch (action) {
      case 'release create':
        await runReleaseCreate(deploy, config, io, json);
        return EXIT.ok;
      case 'releases':
        await runReleases(deploy, config, io, json);
        return EXIT.ok;
      case 'status':
        if (config.environments.length > 0 && config.environment === undefined) return await runStatusOfEvery(deploy, config, resolveFor, io, json);
        {
          const status = await deploy.readStatus(config);
          io.stdout.write(json ? `${JSON.stringify(status, null, 2)}\n` : deploy.formatStatus(status));
        }
        return EXIT.ok;
      case 'history':
        await runHistory(deploy, config, io, json, values.limit === undefined ? undefined : Number(values.limit));
        return EXIT.ok;
      case 'approve':
        await runApprove(deploy, config, version as string, io, json);
        return EXIT.ok;
      case 'down': {
        await deploy.stopService(config, { onEvent, ...(io.platform ? { platform: io.platform } : {}) });
        if (!json) io.stdout.write(`Stopped every instance and the router of ${config.service}${config.environment === undefined ? '' : ` in ${config.environment}`}; nothing of it runs. Its history, reports and logs stay in ${config.stateDir}.\n`);
        return EXIT.ok;
      }
      case 'rollback': {
        // A deploy in progress is rolled back through the process running it, or here when none runs.
        const status = await deploy.readStatus(config);
        const phase = status.deploy?.phase;
        if (phase === undefined || phase === 'succeeded' || phase === 'rolled-back' || phase === 'failed') return await deployOrRollback('rollback', values.to);
        if (values.to !== undefined) return usage(`the deploy of ${status.deploy?.to ?? '?'} is still ${phase}: baton rollback (without --to) rolls it back first; then go back to ${values.to}.`);
        const handled = await deploy.sendControl(config, 'abort', { onEvent, reason: 'rolled back on request (baton rollback)', ...(io.platform ? { platform: io.platform } : {}) });
        io.stdout.write(json ? `${JSON.stringify({ type: 'control', command: 'abort', message: handled.message })}\n` : `${handled.message}\n`);
        if (handled.outcome !== undefined) warnStopFailures(handled.outcome, io);
        return handled.outcome === undefined ? EXIT.ok : exitFor(handled.outcome);
      }
      case 'promote':
      case 'abort': {
        if (pipelinePromote) {
          if (!json && config.previousEnvironment !== undefined) io.stdout.write(`Promoting ${version} from ${config.previousEnvironment} to ${config.environment}; the gates first.\n`);
          return finish(await deploy.promoteRelease(config, version as string, commandOptions));
        }
        // `promote` alone lets a paused canary go on, as `abort` stops it.
        const control = action === 'promote' ? 'promote' : 'abort';
        const handled = await deploy.sendControl(config, control, { onEvent, ...(io.platform ? { platform: io.platform } : {}) });
        io.stdout.write(json ? `${JSON.stringify({ type: 'control', command: control, message: handled.message })}\n` : `${handled.message}\n`);
        if (handled.outcome !== undefined) warnStopFailures(handled.outcome, io);
        return handled.outcome === undefined ? EXIT.ok : exitFor(handled.outcome);
      }
      default:
        return await deployOrRollback('deploy');
    }
  } catch (error) {
    // An error may quote a service's output or a URL: the config's secrets never reach the terminal.
    const redactor = deploy.createRedactor(deploy.secretValuesOf(config.release, process.env)).with(config.metricsToken === undefined ? [] : [config.metricsToken]);
    // The gates were shown as they were checked; what remains is the verdict.
    if (isBatonError(error, 'BATON_ERR_GATE_REFUSED')) {
      if (!json) io.stderr.write(`baton ${action}: ${redactor.text(message(error))}\nNothing was started and no traffic moved.\n`);
      return EXIT.refused;
    }
    io.stderr.write(`baton ${action}: ${redactor.text(message(error))}\n`);
    // A release refused (its version is recorded with another artifact) is the user's to fix, like a bad config: nothing started.
    return isBatonError(error, 'BATON_ERR_DEPLOY_CONFIG') || isBatonError(error, 'BATON_ERR_RELEASE') || isBatonError(error, 'BATON_ERR_PIPELINE') ? EXIT.usage : EXIT.error;
  }
}

function exitFor(outcome: { phase: string; stopFailures?: readonly unknown[] }): number {
  if (outcome.phase === 'interrupted') return EXIT.interrupted;
  if (outcome.phase !== 'succeeded' && outcome.phase !== 'paused') return EXIT.deployFailed;
  return (outcome.stopFailures?.length ?? 0) > 0 ? EXIT.stopFailed : EXIT.ok;
}

/** Stops that failed go to stderr in both modes (`--json` has them as `instance-stop-failed` events too): scripts and people must see them. */
function warnStopFailures(outcome: { stopFailures?: readonly { id: string; release: string; error: string }[] }, io: CliIo): void {
  for (const failure of outcome.stopFailures ?? []) {
    io.stderr.write(`baton: warning: ${failure.id} (${failure.release}) could not be stopped: ${failure.error}. It is out of traffic but may still run; the next deploy or baton down tries again.\n`);
  }
}

async function runMigrations(argv: readonly string[], io: CliIo): Promise<number> {
  let migrations: typeof import('@baton/migrations');
  try {
    // An optional peer: only users who check migrations install it.
    migrations = await import('@baton/migrations');
  } catch (error) {
    io.stderr.write(`baton migrations: @baton/migrations is not installed (${message(error)}); add it with \`pnpm add -D @baton/migrations\`.\n`);
    return EXIT.error;
  }
  return migrations.runMigrationsCommand([...argv], { stdout: io.stdout, stderr: io.stderr, cwd: io.cwd, env: io.env });
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
