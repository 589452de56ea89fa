import type { Readable } from 'node:stream';
import type { Engine } from './engine.js';

/**
 * The engine sends a container's stdout and stderr (no TTY) as frames: an
 * 8-byte header (stream 1 or 2, three zero bytes, the payload's length as a
 * big-endian 32-bit number) and the payload. This turns such bytes back
 * into text, both streams interleaved as they came.
 */
export class LogDemuxer {
  private pending: Buffer = Buffer.alloc(0);

  /** The text of every whole frame `chunk` completes. */
  push(chunk: Buffer): string {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const parts: Buffer[] = [];
    while (this.pending.length >= 8) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      parts.push(this.pending.subarray(8, 8 + size));
      this.pending = this.pending.subarray(8 + size);
    }
    return Buffer.concat(parts).toString('utf8');
  }
}

/** Text from a whole multiplexed buffer (a non-following logs call), or the buffer as text when it is not multiplexed. */
export function demuxAll(data: Buffer | string): string {
  if (typeof data === 'string') return data;
  // A TTY container's log is plain text: its first byte is no stream number.
  if (data.length >= 8 && (data[0] === 1 || data[0] === 2 || data[0] === 0) && data[1] === 0 && data[2] === 0 && data[3] === 0) return new LogDemuxer().push(data);
  return data.toString('utf8');
}

/**
 * Follows a container's log from its start: every line so far in `lines`,
 * and `ended` once the stream ends (the container stopped, or the engine
 * went away).
 */
export interface LogFollower {
  readonly lines: string[];
  readonly ended: boolean;
  /** Resolves at the next new line or the end, whichever first. */
  changed(): Promise<void>;
  close(): void;
}

export async function followLogs(engine: Engine, containerId: string): Promise<LogFollower> {
  const stream = (await engine.call('follow the log', (signal) =>
    engine.docker.getContainer(containerId).logs({ follow: true, stdout: true, stderr: true, abortSignal: signal }),
  )) as unknown as Readable;
  const demuxer = new LogDemuxer();
  const lines: string[] = [];
  let partial = '';
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  stream.on('data', (chunk: Buffer) => {
    const text = partial + demuxer.push(chunk);
    const split = text.split('\n');
    partial = split.pop() ?? '';
    if (split.length > 0) {
      lines.push(...split);
      notify();
    }
  });
  const finish = (): void => {
    if (ended) return;
    if (partial !== '') lines.push(partial);
    partial = '';
    ended = true;
    notify();
  };
  stream.on('end', finish);
  stream.on('close', finish);
  stream.on('error', finish);
  return {
    lines,
    get ended() {
      return ended;
    },
    changed: () => (ended ? Promise.resolve() : new Promise<void>((resolve) => (wake = resolve))),
    close() {
      stream.destroy();
      finish();
    },
  };
}

/** The last `count` lines of a container's log (both streams), or '' when the engine cannot give them. */
export async function logTail(engine: Engine, containerId: string, count: number): Promise<string> {
  try {
    const data = await engine.call('read the log', (signal) =>
      engine.docker.getContainer(containerId).logs({ follow: false, stdout: true, stderr: true, tail: count, abortSignal: signal }),
    );
    return demuxAll(data as unknown as Buffer).replace(/\n+$/, '');
  } catch {
    return '';
  }
}
