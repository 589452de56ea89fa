import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nginxProblem } from './nginx-binary.js';
import { startNginxRouter } from './nginx-router.js';
import { routerProvider } from './router-provider.js';
import { nginx } from './nginx.test.fixtures.js';

describe('routerProvider', () => {
  it('is the nginx kind deploy looks up', () => {
    expect(routerProvider.kind).toBe('nginx');
    expect(routerProvider.displayName).toBe('nginx');
    expect(routerProvider.logFiles).toEqual(['error.log']);
  });

  it.skipIf(!nginx)('finds the installed nginx usable (1.22 or later)', () => {
    expect(routerProvider.unavailable()).toBeUndefined();
  });

  it('says how to install nginx when it is missing or too old', async () => {
    expect(await nginxProblem(undefined)).toMatch(/apt-get install nginx/);
    const dir = await mkdtemp(join(tmpdir(), 'bn-old-'));
    try {
      const old = join(dir, 'nginx');
      await writeFile(old, '#!/bin/sh\necho "nginx version: nginx/1.18.0" >&2\n', { mode: 0o755 });
      expect(await nginxProblem(old)).toMatch(/is nginx 1\.18\.0; Baton needs 1\.22 or later/);
      const rejected = await startNginxRouter({ dir: join(dir, 'r'), binary: old }).catch((error: unknown) => error as { code?: string; message: string });
      expect(rejected).toMatchObject({ code: 'BATON_ERR_NGINX_START' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
