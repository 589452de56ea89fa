/**
 * Turns to stream a request body larger than the buffer (`maxStreamingBodies`): a slow client
 * streaming its body holds a backend connection, so only a few may at once; the rest wait,
 * unread, in arrival order.
 */
export class StreamTurns {
  readonly #max: number;
  #streaming = 0;
  #waiters: (() => void)[] = [];

  constructor(max: number) {
    this.#max = max;
  }

  /** Resolves with the turn's release once one is free; the release may be called more than once. */
  take(): Promise<() => void> {
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next) next();
      else this.#streaming--;
    };
    if (this.#streaming < this.#max) {
      this.#streaming++;
      return Promise.resolve(release);
    }
    // The turn passes from a releasing exchange straight to the next waiter: the count stays.
    return new Promise((resolve) => this.#waiters.push(() => resolve(release)));
  }
}
