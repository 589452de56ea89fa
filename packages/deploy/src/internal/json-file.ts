import { readFile } from 'node:fs/promises';

/**
 * The parsed JSON of `file`, or undefined when it does not exist. Rejects
 * when it cannot be read, and with JSON.parse's SyntaxError when it is not JSON.
 */
export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return JSON.parse(text) as unknown;
}
