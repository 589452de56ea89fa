import type { Readable } from 'node:stream';
import type { InstanceExit } from '@baton/deploy';
import { exitOf } from './exit-status.js';
import { describeError, type Engine, EngineUnreachable, isConnectionError, statusOf } from './engine.js';

type ExitListener = (exit: InstanceExit) => void;

/**
 * One event stream per engine (containers labelled with the service, `die`
 * and `destroy`), shared by every exit watch on that engine. A stream that
 * breaks is opened again from where it left off (the engine replays events
 * `since` the last one seen); an engine that cannot be reached again within
 * its time limit is *lost*: every container watched on it is reported
 * exited (`code: null, signal: null`), so the orchestrator replaces them
 * rather than wait for an engine that may never come back.
 */
export class EngineEvents {
  private readonly watchers = new Map<string, Set<ExitListener>>();
  private stream: Readable | undefined;
  private connecting: Promise<void> | undefined;
  private reconnecting: Promise<void> | undefined;
  /** Whole seconds of the last event seen: where a stream opened again resumes (a replayed event is harmless: each watch reports once). */
  private lastSeen: number | undefined;
  private closed = false;
  private pingTimer: NodeJS.Timeout | undefined;
  /** When the engine last answered (the stream opened, an event, a ping): a lost engine is named with it. */
  private lastAnsweredMs = Date.now();
  /** Why the engine last failed to answer, for the same message. */
  private lastProblem = 'its event stream broke';

  constructor(
    private readonly engine: Engine,
    private readonly service: string,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Calls `listener` once when container `id` dies or is removed. Resolves
   * once the stream runs (events from then on are seen) and the container
   * was checked: one that is already gone is reported at once.
   */
  async watch(id: string, listener: ExitListener): Promise<void> {
    let listeners = this.watchers.get(id);
    if (listeners === undefined) this.watchers.set(id, (listeners = new Set()));
    listeners.add(listener);
    try {
      await this.ensureStream();
    } catch (error) {
      // Not reachable now: tried again within the time limit, then reported lost.
      if (isConnectionError(error)) {
        this.noted(error);
        return this.reconnect();
      }
      throw error;
    }
    await this.check(id);
  }

  unwatch(id: string, listener: ExitListener): void {
    const listeners = this.watchers.get(id);
    listeners?.delete(listener);
    if (listeners !== undefined && listeners.size === 0) this.watchers.delete(id);
    if (this.watchers.size === 0) this.stopStream();
  }

  close(): void {
    this.closed = true;
    this.watchers.clear();
    this.stopStream();
  }

  /** Inspects `id` and reports it when it no longer runs (an event may have come before the stream). */
  private async check(id: string): Promise<void> {
    if (!this.watchers.has(id)) return;
    try {
      const info = await this.engine.call('inspect a container', (signal) => this.engine.docker.getContainer(id).inspect({ abortSignal: signal }));
      if (!info.State.Running && !info.State.Restarting && info.State.Status !== 'created') this.report(id, exitOf(info.State.ExitCode, info.State.OOMKilled));
    } catch (error) {
      if (statusOf(error) === 404) this.report(id, { code: null, signal: null, atMs: Date.now() });
    }
  }

  private report(id: string, exit: InstanceExit): void {
    const listeners = this.watchers.get(id);
    if (listeners === undefined) return;
    this.watchers.delete(id);
    for (const listener of listeners) listener(exit);
    if (this.watchers.size === 0) this.stopStream();
  }

  private async ensureStream(): Promise<void> {
    if (this.stream !== undefined) return;
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async open(): Promise<void> {
    const filters = { type: ['container' as const], event: ['die', 'destroy'], label: [`baton.service=${this.service}`] };
    const since = this.lastSeen;
    const stream = (await this.engine.call('follow events', (signal) =>
      this.engine.docker.getEvents({ filters, ...(since === undefined ? {} : { since }), abortSignal: signal }),
    )) as unknown as Readable;
    if (this.closed || this.watchers.size === 0) {
      stream.destroy();
      return;
    }
    this.stream = stream;
    this.lastAnsweredMs = Date.now();
    // A watch must not keep the orchestrator's process alive (its timers are unref'd too).
    (stream as Readable & { socket?: { unref?: () => void } }).socket?.unref?.();
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      this.lastAnsweredMs = Date.now();
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) this.onEvent(line);
    });
    const broken = (error?: unknown): void => {
      if (this.stream !== stream) return;
      this.lastProblem = error instanceof Error ? `its event stream broke: ${describeError(error)}` : 'its event stream ended';
      this.stream = undefined;
      this.stopPing();
      if (!this.closed && this.watchers.size > 0) void this.reconnect();
    };
    stream.on('end', broken);
    stream.on('close', broken);
    stream.on('error', broken);
    this.startPing(stream);
  }

  private onEvent(line: string): void {
    if (line.trim() === '') return;
    let event: { Action?: string; id?: string; timeNano?: number; Actor?: { ID?: string; Attributes?: Record<string, string> } };
    try {
      event = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof event.timeNano === 'number') this.lastSeen = Math.floor(event.timeNano / 1e9);
    const id = event.Actor?.ID ?? event.id;
    if (id === undefined) return;
    if (event.Action === 'die') {
      const code = Number(event.Actor?.Attributes?.exitCode);
      this.report(id, exitOf(Number.isFinite(code) ? code : null, false));
    } else if (event.Action === 'destroy') {
      this.report(id, { code: null, signal: null, atMs: Date.now() });
    }
  }

  /** Opens the stream again within the engine's time limit, or declares the engine lost; one attempt at a time. */
  private reconnect(): Promise<void> {
    this.reconnecting ??= this.reconnectOnce().finally(() => (this.reconnecting = undefined));
    return this.reconnecting;
  }

  private async reconnectOnce(): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    while (!this.closed && this.watchers.size > 0) {
      try {
        await this.ensureStream();
        // Events missed while the stream was down were replayed from `since`; a check covers a removed container too.
        await Promise.all([...this.watchers.keys()].map((id) => this.check(id)));
        return;
      } catch (error) {
        this.noted(error);
        if (Date.now() >= deadline) return this.reportLost();
        await new Promise((resolve) => setTimeout(resolve, Math.min(250, Math.max(0, deadline - Date.now()))).unref?.());
      }
    }
  }

  private reportLost(): void {
    const atMs = Date.now();
    // Said in the orchestrator's rollback reason: which engine, since when, and its last words.
    const lost = `engine ${this.engine.name} (${this.engine.host.docker}) has not answered since ${new Date(this.lastAnsweredMs).toISOString()}: ${this.lastProblem}`;
    for (const id of [...this.watchers.keys()]) this.report(id, { code: null, signal: null, atMs, lost });
  }

  private noted(error: unknown): void {
    this.lastProblem = error instanceof EngineUnreachable ? `${error.what}: ${error.reason}` : describeError(error);
  }

  /**
   * A stream over TCP or SSH to a host that vanished may never end: a ping
   * each time limit tells, and a failed one breaks the stream on purpose.
   */
  private startPing(stream: Readable): void {
    this.stopPing();
    this.pingTimer = setInterval(() => {
      this.engine.call('ping', () => this.engine.docker.ping()).then(
        () => {
          if (this.stream === stream) this.lastAnsweredMs = Date.now();
        },
        (error: unknown) => {
          if (this.stream !== stream) return;
          this.noted(error);
          this.stopStream();
          // A ping that failed says more than the stream's own end would.
          void this.reconnect();
        },
      );
    }, this.timeoutMs);
    this.pingTimer.unref();
  }

  private stopPing(): void {
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }

  private stopStream(): void {
    this.stopPing();
    const stream = this.stream;
    this.stream = undefined;
    stream?.destroy();
  }
}
