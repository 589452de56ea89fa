import { Readable } from 'node:stream';

/** What a {@link ReplayableBody} is made with. */
export interface ReplayableBodyOptions {
  /** Bytes kept so the body can be sent again (and read ahead by {@link ReplayableBody.prefetch}). */
  keepBytes: number;
  /**
   * Longest silence of the client while the router waits for its body
   * (reading ahead, streaming to a backend, or discarding the rest); then the
   * body fails with a timeout and `onTimeout` is called. 0: no limit. Time
   * the router itself is not reading (a backend slow to take the body) does
   * not count: the client is not at fault.
   */
  idleTimeoutMs: number;
  /**
   * Least the client must send while the router reads its body: every
   * `rateWindowMs` of reading must bring at least this many bytes per
   * second, else the body fails with a timeout and `onTimeout` is called.
   * Catches a client trickling a byte just inside `idleTimeoutMs` forever.
   * As with the idle timeout, only time the router is reading counts (a
   * backend slow to take the body is not the client's fault). 0: no minimum.
   */
  minBytesPerSecond?: number;
  /** The stretch of reading time the minimum rate is measured over; default 10000. */
  rateWindowMs?: number;
  onTimeout?: () => void;
}

/** The error a body fails with when the client went silent for longer than `idleTimeoutMs`. */
export class BodyTimeoutError extends Error {
  readonly code = 'BATON_BODY_TIMEOUT';
}

/**
 * A client's request body that can be sent more than once: each attempt gets
 * a fresh stream ({@link open}) that first replays what earlier attempts read
 * and then pulls the rest from the client, with backpressure both ways.
 *
 * Nothing is read from the client before an attempt asks (undici reads a
 * body only once the request is on a connected socket) or {@link prefetch}
 * reads ahead, so an attempt that failed to connect leaves the body untouched
 * whatever its size. Bytes that were read are kept up to `keepBytes`; past
 * that the body is no longer replayable and the request cannot be retried
 * once sent. Destroying an attempt's stream (undici does on failure) never
 * destroys the client's.
 */
export class ReplayableBody {
  readonly #source: Readable;
  readonly #keepBytes: number;
  readonly #idleTimeoutMs: number;
  readonly #onTimeout: (() => void) | undefined;
  readonly #minBytesPerSecond: number;
  readonly #rateWindowMs: number;
  /** Reading time and bytes of the current rate window; `#readingSince` is set while the source flows. */
  #windowMs = 0;
  #windowBytes = 0;
  #readingSince: number | undefined;
  #rateTimer: NodeJS.Timeout | undefined;
  #lastRateCheckMs = 0;
  #kept: Buffer[] = [];
  #keptBytes = 0;
  #overflowed = false;
  #ended = false;
  #error: Error | undefined;
  #discarding = false;
  #attempt: Readable | undefined;
  #timer: NodeJS.Timeout | undefined;
  #prefetch: { bytes: number; done: () => void } | undefined;

  constructor(source: Readable, options: ReplayableBodyOptions) {
    this.#source = source;
    this.#keepBytes = options.keepBytes;
    this.#idleTimeoutMs = options.idleTimeoutMs;
    this.#onTimeout = options.onTimeout;
    this.#minBytesPerSecond = options.minBytesPerSecond ?? 0;
    this.#rateWindowMs = options.rateWindowMs ?? 10_000;
    source.pause();
    source.on('data', (chunk: Buffer) => this.#onData(chunk));
    source.on('end', () => {
      this.#ended = true;
      this.#stopTimer();
      this.#stopRateClock();
      this.#attempt?.push(null);
      this.#endPrefetch();
    });
    source.on('error', (error: Error) => this.#fail(error));
    source.on('close', () => {
      if (!this.#ended) this.#fail(new Error('the client closed the connection before sending the whole request body'));
    });
  }

  /** True while every byte read so far is kept (or nothing was read): a new attempt can send the whole body. */
  get replayable(): boolean {
    return !this.#overflowed && this.#error === undefined;
  }

  /** True once the client's body failed (aborted upload, or too slow): the exchange is the client's fault, not the backend's. */
  get failed(): boolean {
    return this.#error !== undefined;
  }

  /** True once the body failed because the client went silent for longer than `idleTimeoutMs`, or sent slower than `minBytesPerSecond`. */
  get timedOut(): boolean {
    return this.#error instanceof BodyTimeoutError;
  }

  /** Why the body failed, when it did. */
  get failure(): string | undefined {
    return this.#error?.message;
  }

  /** True once the client's body was read to its end. */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Reads ahead, before any backend connection is taken, until the body
   * ended, `bytes` were read, or it failed (client gone or too slow).
   * `bytes` must not exceed `keepBytes`: what is read ahead is kept.
   */
  prefetch(bytes: number): Promise<void> {
    if (this.#ended || this.#error !== undefined || this.#keptBytes >= bytes) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#prefetch = { bytes, done: resolve };
      this.#resume();
    });
  }

  /** A stream for one more attempt; the previous attempt's stream is detached. Throws when not {@link replayable}. */
  open(): Readable {
    if (!this.replayable) throw new Error('the request body can no longer be replayed');
    this.#detach();
    const stream: Readable = new Readable({
      read: () => {
        if (this.#attempt === stream && !this.#ended) this.#resume();
      },
      destroy: (error, callback) => {
        if (this.#attempt === stream) this.#detach();
        callback(error);
      },
    });
    for (const chunk of this.#kept) stream.push(chunk);
    if (this.#ended) stream.push(null);
    this.#attempt = stream;
    return stream;
  }

  /** The whole body, when it was read to its end and kept (a shadow copy sends it again); undefined otherwise. */
  whole(): Buffer | undefined {
    return this.#ended && this.replayable ? Buffer.concat(this.#kept) : undefined;
  }

  /** Reads and drops the rest of the client's body (after an answer that did not need it), so its connection can carry the next request. */
  discard(): void {
    this.#detach();
    this.#discarding = true;
    // What is left is read only to be dropped: the idle timeout bounds it, the minimum rate no longer applies.
    this.#stopRateClock();
    this.#kept = [];
    this.#endPrefetch();
    if (!this.#ended && this.#error === undefined) this.#resume();
  }

  #resume(): void {
    this.#source.resume();
    this.#armTimer();
    this.#startRateClock();
  }

  #pause(): void {
    this.#source.pause();
    this.#stopTimer();
    this.#pauseRateClock();
  }

  #startRateClock(): void {
    if (this.#minBytesPerSecond <= 0 || this.#discarding || this.#ended || this.#error !== undefined || this.#readingSince !== undefined) return;
    this.#readingSince = Date.now();
    // One interval for the body's whole reading (not restarted per resume: backpressure may pause and resume it every chunk).
    if (this.#rateTimer) return;
    // Checked a few times per window: a client below the minimum is cut within about 1.25 windows of reading.
    this.#lastRateCheckMs = this.#readingSince;
    this.#rateTimer = setInterval(() => this.#checkRate(), this.#rateCheckMs());
    this.#rateTimer.unref();
  }

  #pauseRateClock(): void {
    if (this.#readingSince === undefined) return;
    this.#windowMs += Date.now() - this.#readingSince;
    this.#readingSince = undefined;
  }

  #stopRateClock(): void {
    this.#pauseRateClock();
    clearInterval(this.#rateTimer);
    this.#rateTimer = undefined;
  }

  #rateCheckMs(): number {
    return Math.max(50, Math.floor(this.#rateWindowMs / 4));
  }

  #checkRate(): void {
    const now = Date.now();
    const lateMs = now - this.#lastRateCheckMs - this.#rateCheckMs();
    this.#lastRateCheckMs = now;
    if (lateMs > this.#rateWindowMs / 2) {
      // The router's own event loop stalled (a busy machine): what the client sent meanwhile waits unread in
      // the kernel, so this window says nothing about the client. Start a new one. (A shorter stall costs a
      // client sending at twice the minimum or more nothing: the rest of the window still carries enough.)
      this.#windowMs = 0;
      this.#windowBytes = 0;
      if (this.#readingSince !== undefined) this.#readingSince = now;
      return;
    }
    const readingMs = this.#windowMs + (this.#readingSince === undefined ? 0 : now - this.#readingSince);
    if (readingMs < this.#rateWindowMs) return;
    const needed = (this.#minBytesPerSecond * readingMs) / 1000;
    if (this.#windowBytes < needed) {
      const rate = Math.floor((this.#windowBytes * 1000) / readingMs);
      this.#fail(new BodyTimeoutError(`the client sent its request body at ${rate} bytes/s over ${readingMs} ms, below the minimum of ${this.#minBytesPerSecond} bytes/s`));
      this.#onTimeout?.();
      return;
    }
    // A new window: credit from a fast start does not buy a slow rest.
    this.#windowMs = 0;
    this.#windowBytes = 0;
    if (this.#readingSince !== undefined) this.#readingSince = now;
  }

  #armTimer(): void {
    if (this.#idleTimeoutMs <= 0 || this.#ended || this.#error !== undefined) return;
    if (this.#timer) {
      this.#timer.refresh();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#fail(new BodyTimeoutError(`the client sent nothing of its request body for ${this.#idleTimeoutMs} ms`));
      this.#onTimeout?.();
    }, this.#idleTimeoutMs);
    this.#timer.unref();
  }

  #stopTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #endPrefetch(): void {
    const prefetch = this.#prefetch;
    this.#prefetch = undefined;
    prefetch?.done();
  }

  #detach(): void {
    const previous = this.#attempt;
    this.#attempt = undefined;
    if (!this.#discarding) this.#pause();
    if (previous !== undefined && !previous.destroyed) previous.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#windowBytes += chunk.length;
    if (this.#discarding) {
      this.#armTimer();
      return;
    }
    const attempt = this.#attempt;
    if (!this.#overflowed) {
      // With no attempt to pass it to, a chunk is kept whatever its size (it
      // is the first attempt's): at most one chunk past a read-ahead's limit.
      if (attempt === undefined || this.#keptBytes + chunk.length <= this.#keepBytes) {
        this.#kept.push(chunk);
        this.#keptBytes += chunk.length;
      } else {
        this.#overflowed = true;
        this.#kept = [];
      }
    }
    if (attempt === undefined) {
      const prefetch = this.#prefetch;
      if (prefetch !== undefined && this.#keptBytes < prefetch.bytes) {
        this.#armTimer();
        return;
      }
      this.#pause();
      this.#endPrefetch();
      return;
    }
    if (attempt.push(chunk)) this.#armTimer();
    else this.#pause();
  }

  #fail(error: Error): void {
    if (this.#error !== undefined || this.#ended) return;
    this.#error = error;
    this.#stopTimer();
    this.#stopRateClock();
    const attempt = this.#attempt;
    this.#attempt = undefined;
    attempt?.destroy(error);
    this.#endPrefetch();
  }
}
