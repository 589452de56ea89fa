// The root README's install section is what the consumer test runs: each
// snippet it uses is marked `<!-- consumer-test: NAME -->` on the line before
// its code fence, and read from the README here, never copied.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const README = fileURLToPath(new URL('../../../README.md', import.meta.url));

export type SnippetName = 'express-app' | 'fastify-app' | 'commonjs-app' | 'deploy-config';

/** The code of the README's snippet `name` (the fenced block after its marker). */
export function readmeSnippet(name: SnippetName): string {
  const text = readFileSync(README, 'utf8');
  const marker = `<!-- consumer-test: ${name} -->`;
  const at = text.indexOf(marker);
  if (at === -1) throw new Error(`README.md has no ${marker}: the consumer test runs the README's snippets`);
  const fence = /^```[a-z]*\n([\s\S]*?)^```$/m.exec(text.slice(at + marker.length));
  if (fence?.[1] === undefined) throw new Error(`README.md: no code block after ${marker}`);
  return fence[1];
}

/**
 * The README's app with one route the test needs inserted before the line
 * that starts serving: `GET /slow` logs `{"event":"slow-request"}` when it
 * arrives and answers after `SLOW_MS`, so SIGTERM can be sent while it is in
 * flight. Nothing else of the snippet changes.
 */
export function appWithSlowRoute(name: 'express-app' | 'fastify-app' | 'commonjs-app'): string {
  const code = readmeSnippet(name);
  const route =
    name === 'fastify-app'
      ? `app.get('/slow', async () => { console.log('{"event":"slow-request"}'); await new Promise((resolve) => setTimeout(resolve, ${SLOW_MS})); return { slow: true }; });\n`
      : `app.get('/slow', (req, res) => { console.log('{"event":"slow-request"}'); setTimeout(() => res.json({ slow: true }), ${SLOW_MS}); });\n`;
  const serving = /^(await )?serve(Fastify)?\(/m.exec(code);
  if (serving === null) throw new Error(`README.md's ${name} snippet has no line starting with serve(...) or await serve(...)`);
  return code.slice(0, serving.index) + route + code.slice(serving.index);
}

/** How long the test's slow request takes. */
export const SLOW_MS = 1500;
