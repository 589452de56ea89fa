import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The traffic URL a router recorded in `<dir>/router.json`. Baton's routers
 * all keep it there, so a restarted router (a reboot) comes back on the same
 * URL and `baton status` can say where while it is down.
 */
export async function recordedRouterUrl(dir: string): Promise<string | undefined> {
  try {
    const record = JSON.parse(await readFile(join(dir, 'router.json'), 'utf8')) as { url?: unknown };
    return typeof record.url === 'string' ? record.url : undefined;
  } catch {
    return undefined;
  }
}
