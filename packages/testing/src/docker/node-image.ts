import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { build } from 'esbuild';
import { EngineCallError, engineJson, engineResponse, readProgress, type EngineCall } from './internal/engine-api.js';
import { withFileLock } from './internal/file-lock.js';
import { currentNodeRuntime, nodeRootfsEntries } from './internal/node-rootfs.js';
import { tarStream } from './internal/tar-writer.js';

/** Options of {@link buildNodeImage}. */
export interface NodeImageOptions {
  /** The image's repository name (`baton-test-app`): lower case letters, digits and `._-` separators. */
  name: string;
  /** A built JavaScript file (ESM or CJS); it and everything it imports is bundled into one file. */
  entry: string;
  /** Environment variables baked into the image (`ENV`). */
  env?: Record<string, string>;
}

/** An image on an engine. */
export interface BuiltImage {
  /** The image id (`sha256:…`): the same on every engine it is copied to. */
  id: string;
  /** `<name>:<content hash>`. */
  tag: string;
}

/** The command every rig image runs. */
export const NODE_IMAGE_COMMAND = ['/usr/bin/node', '/app/main.mjs'] as const;

/**
 * Builds an image that runs `entry` with the node binary running the tests,
 * without a registry or a base image: esbuild bundles the entry into
 * /app/main.mjs (platform node, Node 20, ESM), and the image holds that, node,
 * the libraries `ldd` lists for it and /tmp. The tag is a hash of the content
 * (node binary, bundle, env), so the same content is built once per engine;
 * parallel test files building the same tag wait for each other.
 *
 * @example
 * const engine = await ensureDockerEngine();
 * const image = await buildNodeImage(engine, { name: 'baton-orders', entry: 'examples/orders-express/dist/main.js', env: { PORT: '8080' } });
 */
export async function buildNodeImage(engine: { socketPath: string }, options: NodeImageOptions): Promise<BuiltImage> {
  checkOptions(options);
  const bundle = await bundleEntry(options.entry);
  const runtime = currentNodeRuntime();
  const env = Object.entries(options.env ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  const nodeStat = statSync(runtime.node);
  const hash = createHash('sha256')
    .update(JSON.stringify({ node: [runtime.node, nodeStat.size, nodeStat.mtimeMs], libraries: runtime.libraries, env, command: NODE_IMAGE_COMMAND }))
    .update(createHash('sha256').update(bundle).digest('hex'))
    .digest('hex')
    .slice(0, 20);
  const tag = `${options.name}:${hash}`;

  const existing = await imageId(engine.socketPath, tag);
  if (existing !== undefined) return { id: existing, tag };
  const lock = `/tmp/baton-image-${createHash('sha256').update(`${engine.socketPath}\n${tag}`).digest('hex').slice(0, 16)}.lock`;
  return withFileLock(lock, 300_000, async () => {
    // Another test file may have built it while this one waited.
    const built = await imageId(engine.socketPath, tag);
    if (built !== undefined) return { id: built, tag };
    const changes = [`CMD ${JSON.stringify(NODE_IMAGE_COMMAND)}`, 'WORKDIR /app', ...env.map(([key, value]) => `ENV ${key}=${JSON.stringify(value)}`)];
    const query = new URLSearchParams({ fromSrc: '-', repo: options.name, tag: hash });
    for (const change of changes) query.append('changes', change);
    const call: EngineCall = {
      method: 'POST',
      path: `/images/create?${query.toString()}`,
      headers: { 'content-type': 'application/x-tar' },
      body: tarStream(nodeRootfsEntries(runtime, { '/app/main.mjs': bundle })),
    };
    await readProgress(await engineResponse(engine.socketPath, call), call);
    const id = await imageId(engine.socketPath, tag);
    if (id === undefined) throw new Error(`the engine at ${engine.socketPath} imported ${tag} but does not know it`);
    return { id, tag };
  });
}

/** The id of an image (by id or tag) on an engine, or undefined when it has none. */
export async function imageId(socketPath: string, reference: string): Promise<string | undefined> {
  try {
    const image = await engineJson<{ Id: string }>(socketPath, { method: 'GET', path: `/images/${encodeURIComponent(reference)}/json` });
    return image.Id;
  } catch (error) {
    if (error instanceof EngineCallError && error.status === 404) return undefined;
    throw error;
  }
}

async function bundleEntry(entry: string): Promise<Buffer> {
  const result = await build({
    entryPoints: [resolve(entry)],
    // The bundle names its sources in comments relative to this: from the entry's own directory, the
    // same files in another temp dir make the same bundle (and so the same tag).
    absWorkingDir: dirname(resolve(entry)),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    write: false,
    logLevel: 'silent',
    // CommonJS code calls require() for Node's own modules and reads __dirname / __filename; an ES
    // module has none of them. esbuild renames a bundled module's own top-level `require`, so the
    // banner may declare it; a module's own `__dirname` it keeps, so those two go through `define`,
    // which replaces only the free (undeclared) uses.
    banner: {
      js: [
        "import { createRequire as __batonCreateRequire } from 'node:module';",
        "import { fileURLToPath as __batonFileURLToPath } from 'node:url';",
        'const require = __batonCreateRequire(import.meta.url);',
        'const __batonFilename = __batonFileURLToPath(import.meta.url);',
        "const __batonDirname = __batonFilename.slice(0, __batonFilename.lastIndexOf('/'));",
      ].join('\n'),
    },
    define: { __filename: '__batonFilename', __dirname: '__batonDirname' },
  }).catch((error: Error) => {
    throw new Error(`buildNodeImage: esbuild could not bundle ${entry}: ${error.message}`, { cause: error });
  });
  const output = result.outputFiles[0];
  if (output === undefined) throw new Error(`buildNodeImage: esbuild wrote nothing for ${entry}`);
  return Buffer.from(output.contents);
}

function checkOptions(options: NodeImageOptions): void {
  // Docker's rule for a repository name component, without a registry host.
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(options.name)) {
    throw new Error(`buildNodeImage: name ${JSON.stringify(options.name)} is not an image name (lower case letters and digits, separated by . _ - or /)`);
  }
  for (const key of Object.keys(options.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`buildNodeImage: env name ${JSON.stringify(key)} is not a variable name (letters, digits, _; not starting with a digit)`);
  }
}
