// `node dist/judge/keep-section.js <command> [args...]`: runs the command
// (the full `pnpm bench`), then puts the Canary judge section of RESULTS.md
// and its Targets row back if the command's rewrite of the file dropped them.
// The judge bench is not part of `pnpm bench` (about 20 minutes of its own),
// and run.ts rewrites RESULTS.md from the parts it knows; without this a full
// run would erase the judge's last figures.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { previousSection, spliceSection } from '../results-sections.js';
import { JUDGE_HEADING, JUDGE_ROW_PREFIX } from './judge-report.js';

const resultsFile = fileURLToPath(new URL('../../RESULTS.md', import.meta.url));
const [command, ...args] = process.argv.slice(2);
if (command === undefined) {
  console.error('usage: node dist/judge/keep-section.js <command> [args...]');
  process.exit(2);
}
const read = (): string => (existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '');
const kept = previousSection(read(), JUDGE_HEADING, JUDGE_ROW_PREFIX);

const child = spawn(command, args, { stdio: 'inherit' });
// Ctrl-C reaches the command too (same process group): wait for it to end, then restore.
const ignore = (): void => {};
process.on('SIGINT', ignore);
process.on('SIGTERM', (signal) => child.kill(signal));
child.on('error', (error) => {
  console.error(`keep-section: ${command}: ${error.message}`);
  process.exitCode = 127;
});
child.on('exit', (code, signal) => {
  const current = read();
  if (kept !== undefined && current !== '' && !current.split('\n').includes(JUDGE_HEADING)) {
    writeFileSync(resultsFile, spliceSection(current, JUDGE_HEADING, JUDGE_ROW_PREFIX, kept.section, kept.rows));
    console.error(`Kept the Canary judge section of ${resultsFile} (pnpm bench:judge updates it)`);
  }
  process.exitCode = code ?? (signal === null ? 1 : 128 + 2);
});
