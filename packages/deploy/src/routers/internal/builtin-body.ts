import { Readable } from 'node:stream';

/**
 * A client's request body that can be sent more than once: each attempt gets
 * a fresh stream ({@link open}) that first replays what earlier attempts read
 * and then pulls the rest from the client, with backpressure both ways.
 *
 * Nothing is read from the client before an attempt asks (undici reads a
 * body only once the request is on a connected socket), so an attempt that
 * failed to connect leaves the body untouched whatever its size. Bytes that
 * were read are kept up to `keepBytes`; past that the body is no longer
 * replayable and the request cannot be retried once sent. Destroying an
 * attempt's stream (undici does on failure) never destroys the client's.
 */
export class ReplayableBody {
  readonly #source: Readable;
  readonly #keepBytes: number;
  #kept: Buffer[] = [];
  #keptBytes = 0;
  #overflowed = false;
  #ended = false;
  #error: Error | undefined;
  #discarding = false;
  #attempt: Readable | undefined;

  constructor(source: Readable, keepBytes: number) {
    this.#source = source;
    this.#keepBytes = keepBytes;
    source.pause();
    source.on('data', (chunk: Buffer) => this.#onData(chunk));
    source.on('end', () => {
      this.#ended = true;
      this.#attempt?.push(null);
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

  /** True once the client's body failed (aborted upload): the exchange is the client's fault, not the backend's. */
  get failed(): boolean {
    return this.#error !== undefined;
  }

  /** True once the client's body was read to its end. */
  get ended(): boolean {
    return this.#ended;
  }

  /** A stream for one more attempt; the previous attempt's stream is detached. Throws when not {@link replayable}. */
  open(): Readable {
    if (!this.replayable) throw new Error('the request body can no longer be replayed');
    this.#detach();
    const stream: Readable = new Readable({
      read: () => {
        if (this.#attempt === stream && !this.#ended) this.#source.resume();
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

  /** Reads and drops the rest of the client's body (after an answer that did not need it), so its connection can carry the next request. */
  discard(): void {
    this.#detach();
    this.#discarding = true;
    this.#kept = [];
    if (!this.#ended && this.#error === undefined) this.#source.resume();
  }

  #detach(): void {
    const previous = this.#attempt;
    this.#attempt = undefined;
    if (!this.#discarding) this.#source.pause();
    if (previous !== undefined && !previous.destroyed) previous.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#discarding) return;
    if (!this.#overflowed) {
      if (this.#keptBytes + chunk.length <= this.#keepBytes) {
        this.#kept.push(chunk);
        this.#keptBytes += chunk.length;
      } else {
        this.#overflowed = true;
        this.#kept = [];
      }
    }
    const attempt = this.#attempt;
    if (attempt === undefined) {
      this.#source.pause();
      return;
    }
    if (!attempt.push(chunk)) this.#source.pause();
  }

  #fail(error: Error): void {
    if (this.#error !== undefined || this.#ended) return;
    this.#error = error;
    const attempt = this.#attempt;
    this.#attempt = undefined;
    attempt?.destroy(error);
  }
}
