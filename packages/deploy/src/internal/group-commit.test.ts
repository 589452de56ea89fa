import { describe, expect, it } from 'vitest';
import { createGroupCommit } from './group-commit.js';

/** A flush the test releases by hand, so it decides what is in flight. */
function heldFlush(): { flush: (batch: readonly number[]) => Promise<void>; batches: number[][]; release: (error?: Error) => void; started: () => Promise<void> } {
  const batches: number[][] = [];
  const gates: ((error?: Error) => void)[] = [];
  let onStart: (() => void) | undefined;
  return {
    batches,
    flush: (batch) => {
      batches.push([...batch]);
      onStart?.();
      return new Promise<void>((resolve, reject) => gates.push((error) => (error === undefined ? resolve() : reject(error))));
    },
    release: (error) => (gates.shift() as (error?: Error) => void)(error),
    started: () => new Promise<void>((resolve) => (onStart = resolve)),
  };
}

describe('createGroupCommit', () => {
  it('flushes a burst in two batches, in order, and resolves each caller only once its own batch is done', async () => {
    const held = heldFlush();
    const submit = createGroupCommit(held.flush);
    const settled: number[] = [];
    const calls = Array.from({ length: 10 }, (_, n) => submit(n).then(() => settled.push(n)));
    expect(held.batches).toEqual([[0]]);
    held.release();
    const second = held.started();
    await second;
    // The first caller is done; the nine that came while it flushed go together.
    expect(settled).toEqual([0]);
    expect(held.batches).toEqual([[0], [1, 2, 3, 4, 5, 6, 7, 8, 9]]);
    held.release();
    await Promise.all(calls);
    expect(settled).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('rejects only the callers of a failed flush, with its error, and goes on with the next batch', async () => {
    const held = heldFlush();
    const submit = createGroupCommit(held.flush);
    const first = submit(1);
    const second = submit(2);
    const third = submit(3);
    const next = held.started();
    held.release(new Error('disk full'));
    await expect(first).rejects.toThrow('disk full');
    await next;
    held.release();
    await expect(second).resolves.toBeUndefined();
    await expect(third).resolves.toBeUndefined();
    expect(held.batches).toEqual([[1], [2, 3]]);
  });

  it('starts a flush at once when nothing is in flight', async () => {
    const flushed: number[][] = [];
    const submit = createGroupCommit<number>(async (batch) => {
      flushed.push([...batch]);
    });
    await submit(1);
    await submit(2);
    expect(flushed).toEqual([[1], [2]]);
  });
});
