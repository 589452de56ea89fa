import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isBatonError } from '@baton/lifecycle';
import { createProgressRenderer, type Output } from './progress.js';
import { loadConfigFile } from './load-config.js';
import { runReleaseCreate, runReleases } from './release-commands.js';

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
  /** Interrupted (Ctrl-C): the deploy stopped at a safe point and stays open; the same command resumes it. */
  interrupted: 130,
} as const;

const HELP = `Usage: baton <command> [options]

Commands:
  deploy               deploy the config's release (resumes an interrupted deploy of it)
  status               the stable release, instances, router backends and any deploy in progress
  promote              let a paused canary go on
  abort                stop the deploy in progress and roll it back
  rollback             roll back the deploy in progress, or go back to the previous release
  down                 stop every instance and the router; history, reports and logs stay
  release create       pin the config's release to its artifact and record it (baton deploy does it too)
  releases             the recorded releases: version, created, artifact, source revision, where deployed
  migrations check <dir>  check SQL migrations for backward compatibility (see baton migrations --help)

Router: clients reach the service through the router, on the config's router.port; without one, on a
free port picked when the router starts (baton deploy prints the address, baton status shows it), kept
until baton down.

Options:
  -c, --config <file>  the deploy config (default: baton.config.{ts,mts,js,mjs,json} in the working directory)
      --release <v>    deploy (or create) this version label instead of the config's (the command and env stay)
      --json           machine output: one JSON event per line (deploy), one JSON document (status, releases)
  -h, --help           this help

A release is immutable: a version is recorded with its artifact's digest once, and a build of that
version with another artifact is refused (exit 2); baton rollback runs the previous release's exact artifact.

Exit codes: 0 done, 1 the deploy failed and was rolled back, 2 bad usage or config, or a release
refused, 3 could not run,
4 deployed but an old instance could not be stopped (out of traffic, may still run; see the report),
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
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: false,
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
  const commands = ['deploy', 'status', 'promote', 'abort', 'rollback', 'down', 'release create', 'releases'];
  if (!commands.includes(action)) {
    io.stderr.write(`baton: unknown command "${command}"; one of ${[...commands, 'migrations'].join(', ')}.\n\n${HELP}\n`);
    return EXIT.usage;
  }

  const deploy = await import('@baton/deploy');
  let config;
  try {
    const file = await loadConfigFile(io.cwd, parsed.values.config);
    const input = file.config as Record<string, unknown>;
    if (parsed.values.release !== undefined && typeof input === 'object' && input !== null && typeof input['release'] === 'object') {
      input['release'] = { ...(input['release'] as object), version: parsed.values.release };
    }
    // Routers and platforms are looked up in the project first, then beside the CLI (which brings the built-in router and the local platform).
    config = deploy.resolveDeployConfig(input, { cwd: io.cwd, lookupFrom: [CLI_PACKAGE_DIR] });
  } catch (error) {
    io.stderr.write(`baton ${action}: ${message(error)}\n`);
    return EXIT.usage;
  }

  const json = parsed.values.json;
  const onEvent = json ? (event: unknown) => io.stdout.write(`${JSON.stringify(event)}\n`) : createProgressRenderer(io.stdout);
  const resolved = config;
  const deployOrRollback = async (what: 'deploy' | 'rollback'): Promise<number> => {
    const outcome = await deploy.runDeployCommand(resolved, what, { onEvent, env: io.env, ...(io.signal ? { signal: io.signal } : {}), ...(io.platform ? { platform: io.platform } : {}) });
    if (!json) {
      const verb =
        outcome.phase === 'succeeded'
          ? `Deployed ${outcome.to}`
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
  try {
    switch (action) {
      case 'release create':
        await runReleaseCreate(deploy, config, io, json);
        return EXIT.ok;
      case 'releases':
        await runReleases(deploy, config, io, json);
        return EXIT.ok;
      case 'status': {
        const status = await deploy.readStatus(config);
        io.stdout.write(json ? `${JSON.stringify(status, null, 2)}\n` : deploy.formatStatus(status));
        return EXIT.ok;
      }
      case 'down': {
        await deploy.stopService(config, { onEvent, ...(io.platform ? { platform: io.platform } : {}) });
        if (!json) io.stdout.write(`Stopped every instance and the router of ${config.service}; nothing of it runs. Its history, reports and logs stay in ${config.stateDir}.\n`);
        return EXIT.ok;
      }
      case 'rollback': {
        // A deploy in progress is rolled back through the process running it, or here when none runs.
        const status = await deploy.readStatus(config);
        const phase = status.deploy?.phase;
        if (phase === undefined || phase === 'succeeded' || phase === 'rolled-back' || phase === 'failed') return await deployOrRollback('rollback');
        const handled = await deploy.sendControl(config, 'abort', { onEvent, reason: 'rolled back on request (baton rollback)', ...(io.platform ? { platform: io.platform } : {}) });
        io.stdout.write(json ? `${JSON.stringify({ type: 'control', command: 'abort', message: handled.message })}\n` : `${handled.message}\n`);
        if (handled.outcome !== undefined) warnStopFailures(handled.outcome, io);
        return handled.outcome === undefined ? EXIT.ok : exitFor(handled.outcome);
      }
      case 'promote':
      case 'abort': {
        const handled = await deploy.sendControl(config, action, { onEvent, ...(io.platform ? { platform: io.platform } : {}) });
        io.stdout.write(json ? `${JSON.stringify({ type: 'control', command: action, message: handled.message })}\n` : `${handled.message}\n`);
        if (handled.outcome !== undefined) warnStopFailures(handled.outcome, io);
        return handled.outcome === undefined ? EXIT.ok : exitFor(handled.outcome);
      }
      default:
        return await deployOrRollback('deploy');
    }
  } catch (error) {
    // An error may quote a service's output or a URL: the config's secrets never reach the terminal.
    const redactor = deploy.createRedactor(deploy.secretValuesOf(config.release, process.env)).with(config.metricsToken === undefined ? [] : [config.metricsToken]);
    io.stderr.write(`baton ${action}: ${redactor.text(message(error))}\n`);
    // A release refused (its version is recorded with another artifact) is the user's to fix, like a bad config: nothing started.
    return isBatonError(error, 'BATON_ERR_DEPLOY_CONFIG') || isBatonError(error, 'BATON_ERR_RELEASE') ? EXIT.usage : EXIT.error;
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
