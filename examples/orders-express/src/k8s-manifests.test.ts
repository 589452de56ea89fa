import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '@baton/cli';

// The committed k8s/ examples are what `baton k8s render` writes from this service's baton.config today:
// a change to the config, or to how Baton renders, shows here as drift until they are rendered again
// (pnpm --filter @baton/example-orders-express k8s:render).

const SERVICE_DIR = fileURLToPath(new URL('..', import.meta.url));
export const EXAMPLE_IMAGE = `registry.example.com/orders@sha256:${'b'.repeat(64)}`;
const RENDERS = [
  { dir: 'k8s/canary', args: ['--env', 'production'] },
  { dir: 'k8s/rolling', args: ['-c', 'k8s/rolling.config.ts'] },
];

const temps: string[] = [];
afterAll(async () => {
  for (const dir of temps) await rm(dir, { recursive: true, force: true });
});

function collect(): { stream: { write(text: string): boolean }; text: () => string } {
  let text = '';
  return { stream: { write: (chunk: string) => ((text += chunk), true) }, text: () => text };
}

describe.each(RENDERS)('the committed $dir', ({ dir, args }) => {
  it('is what baton k8s render writes from the config now', async () => {
    const out = await mkdtemp(join(tmpdir(), 'baton-k8s-'));
    temps.push(out);
    const stdout = collect();
    const stderr = collect();
    const code = await runCli(['k8s', 'render', ...args, '--release', 'v2', '--image', EXAMPLE_IMAGE, '--out', out], { stdout: stdout.stream, stderr: stderr.stream, cwd: SERVICE_DIR, env: {} });
    expect(stderr.text()).toBe('');
    expect(code).toBe(0);
    const committed = (await readdir(join(SERVICE_DIR, dir))).sort();
    expect((await readdir(out)).sort(), `files of ${dir}`).toEqual(committed);
    for (const file of committed) {
      const fresh = await readFile(join(out, file), 'utf8');
      expect(fresh, `${dir}/${file} drifted from baton.config: render it again (pnpm --filter @baton/example-orders-express k8s:render)`).toBe(await readFile(join(SERVICE_DIR, dir, file), 'utf8'));
    }
  });
});
