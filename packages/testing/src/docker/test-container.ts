import { setTimeout as sleep } from 'node:timers/promises';
import { engineJson, engineResponse } from './internal/engine-api.js';

/** Options of {@link startTestContainer}. */
export interface TestContainerOptions {
  /** Image id or tag. */
  image: string;
  /** The port the program listens on inside the container; published on the engine's address at an ephemeral port. */
  containerPort: number;
  /** Labels, e.g. `{ 'baton.test': runId }` for {@link removeContainersLabelled}. */
  labels?: Record<string, string>;
  /** More environment (`KEY=value` pairs over the image's own). */
  env?: Record<string, string>;
}

/** A started container and where its published port answers. */
export interface TestContainer {
  id: string;
  /** The host port its `containerPort` is published on (at the engine's address). */
  hostPort: number;
  /** `http://<engine address>:<hostPort>`. */
  url: string;
  /**
   * The container's own address on its engine's bridge. It answers there even
   * after its engine is killed (the published port goes with the engine's
   * docker-proxy; the container lives on).
   */
  bridgeAddress: string;
  /** Its output so far (stdout and stderr as text). */
  logs(): Promise<string>;
}

/**
 * Creates and starts a container published on the engine's own loopback
 * address (at an ephemeral port) — what a test needs to run a rig image
 * directly; Baton's Docker platform does this itself in a deploy.
 */
export async function startTestContainer(engine: { socketPath: string; address: string }, options: TestContainerOptions): Promise<TestContainer> {
  const port = `${options.containerPort}/tcp`;
  const created = await engineJson<{ Id: string }>(engine.socketPath, {
    method: 'POST',
    path: '/containers/create',
    body: JSON.stringify({
      Image: options.image,
      Labels: options.labels ?? {},
      Env: Object.entries(options.env ?? {}).map(([key, value]) => `${key}=${value}`),
      ExposedPorts: { [port]: {} },
      HostConfig: { PortBindings: { [port]: [{ HostIp: engine.address, HostPort: '' }] } },
    }),
  });
  await engineJson(engine.socketPath, { method: 'POST', path: `/containers/${created.Id}/start` });
  const { hostPort, bridgeAddress } = await publishedPort(engine.socketPath, created.Id, port);
  return {
    id: created.Id,
    hostPort,
    bridgeAddress,
    url: `http://${engine.address}:${hostPort}`,
    logs: () => containerLogs(engine.socketPath, created.Id),
  };
}

async function publishedPort(socketPath: string, id: string, port: string): Promise<{ hostPort: number; bridgeAddress: string }> {
  // The engine fills in the port binding as the container starts; usually at once.
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const inspected = await engineJson<{ NetworkSettings: { IPAddress: string; Ports: Record<string, Array<{ HostPort: string }> | null> | null } }>(socketPath, {
      method: 'GET',
      path: `/containers/${id}/json`,
    });
    const hostPort = Number(inspected.NetworkSettings.Ports?.[port]?.[0]?.HostPort);
    if (hostPort > 0) return { hostPort, bridgeAddress: inspected.NetworkSettings.IPAddress };
    await sleep(100);
  }
  throw new Error(`container ${id} on ${socketPath}: ${port} was not published`);
}

/** A container's output; the engine multiplexes stdout and stderr in frames (8-byte header, then the bytes). */
async function containerLogs(socketPath: string, id: string): Promise<string> {
  const res = await engineResponse(socketPath, { method: 'GET', path: `/containers/${id}/logs?stdout=1&stderr=1`, timeoutMs: 10_000 });
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  if ((res.statusCode ?? 0) >= 400) throw new Error(`logs of ${id}: ${raw.toString('utf8')}`);
  let text = '';
  for (let offset = 0; offset + 8 <= raw.length; ) {
    const size = raw.readUInt32BE(offset + 4);
    text += raw.subarray(offset + 8, offset + 8 + size).toString('utf8');
    offset += 8 + size;
  }
  return text;
}

