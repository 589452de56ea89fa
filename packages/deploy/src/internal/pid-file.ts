import { readFile } from 'node:fs/promises';

/** The pid a daemon wrote into `file` (its first line), or undefined when there is none or it is not a pid. */
export async function readPidFile(file: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(file, 'utf8')).trim().split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
