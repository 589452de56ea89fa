/** The router's files in its state directory besides the backend table: its record, haproxy.cfg, the pid file. */
import { chmod, rename, unlink } from 'node:fs/promises';
import { KEEP_ALIVE_OFF, haproxyRouterConfig } from '../haproxy-config.js';
import { checkHaproxyConfig } from '../haproxy-process.js';
import { causeText, routerError } from './haproxy-errors.js';
import { readRouterRecord, writeFileAtomic, type HaproxyBackendsRecord, type HaproxyRouterPaths, type HaproxyRouterRecord } from './haproxy-state.js';
import { occupiedSlots } from './slot-table.js';

/** The record of the router that ran on this state directory; throws when there is none or it is another router's. */
export async function loadRecord(paths: HaproxyRouterPaths): Promise<HaproxyRouterRecord> {
  let record: HaproxyRouterRecord | undefined;
  try {
    record = await readRouterRecord(paths.routerFile);
  } catch (error) {
    throw routerError(`${paths.stateDir} is not a HAProxy router's state directory: ${causeText(error)}.`, error);
  }
  if (!record) throw routerError(`no HAProxy router has run on ${paths.stateDir} (no ${paths.routerFile}); start one with startHaproxyRouter().`);
  return record;
}

/** Writes haproxy.cfg: generated beside it, checked with `haproxy -c`, then renamed over it, so a bad config never replaces a good one. */
export async function writeConfig(paths: HaproxyRouterPaths, record: HaproxyRouterRecord, table: HaproxyBackendsRecord): Promise<void> {
  const config = haproxyRouterConfig({
    host: record.host,
    port: record.port,
    adminSocket: paths.adminSocket,
    serverStateFile: paths.serverStateFile,
    slots: record.slots,
    readinessPath: record.readinessPath,
    check: record.check,
    timeouts: record.timeouts,
    retries: record.retries,
    occupied: occupiedSlots(table),
    ...(record.maxConnections === undefined ? {} : { maxConnections: record.maxConnections }),
    ...(record.trustForwarded === undefined ? {} : { trustForwarded: record.trustForwarded }),
    ...(record.expose === undefined ? {} : { expose: record.expose }),
    keepAliveOffFile: paths.keepAliveOffFile,
  });
  // Read by HAProxy when it loads the config (and by `haproxy -c`): the table's keep-alive setting comes into effect with it.
  await writeKeepAliveFile(paths, table.keepAlive ?? true);
  const candidate = `${paths.configFile}.new`;
  await writeFileAtomic(candidate, config);
  try {
    await checkHaproxyConfig(record.binary, candidate);
  } catch (error) {
    await unlink(candidate).catch(() => {});
    throw error;
  }
  await rename(candidate, paths.configFile);
}

/** The keep-alive switch's pattern file (see `haproxyRouterConfig`): `off` in it while keep-alive with clients is off. */
export function writeKeepAliveFile(paths: HaproxyRouterPaths, enabled: boolean): Promise<void> {
  return writeFileAtomic(paths.keepAliveOffFile, enabled ? '' : `${KEEP_ALIVE_OFF}\n`);
}

/**
 * HAProxy unlinks and rewrites its pid file 0644 at start and at every
 * reload: made 0600 like every file of the state directory once it is there.
 */
export async function privatePidFile(pidFile: string): Promise<void> {
  await chmod(pidFile, 0o600).catch((error: NodeJS.ErrnoException) => {
    // Not written (yet): nothing to protect; the next start or reload tightens it.
    if (error.code !== 'ENOENT') throw error;
  });
}
