import { describe, expect, it } from 'vitest';
import { createSharedCalls } from './shared-call.js';

describe('createSharedCalls', () => {
  it('runs one call for the callers of a key that ask while it is under way, and a fresh one after it settled', async () => {
    const shared = createSharedCalls<number>();
    let calls = 0;
    let finish: (value: number) => void = () => {};
    const call = (): Promise<number> => {
      calls += 1;
      return new Promise<number>((resolve) => (finish = resolve));
    };
    const together = [shared('engine-a', call), shared('engine-a', call), shared('engine-a', call)];
    expect(calls).toBe(1);
    finish(7);
    expect(await Promise.all(together)).toEqual([7, 7, 7]);
    const later = shared('engine-a', call);
    expect(calls).toBe(2);
    finish(8);
    expect(await later).toBe(8);
  });

  it('keeps keys apart, and gives every caller of a failed call its error', async () => {
    const shared = createSharedCalls<string>();
    const failing = Promise.all([shared('a', () => Promise.reject(new Error('engine a is gone'))), shared('a', () => Promise.resolve('never asked'))]);
    await expect(failing).rejects.toThrow('engine a is gone');
    await expect(shared('b', () => Promise.resolve('b answers'))).resolves.toBe('b answers');
    // After a failure the key is free again: the next caller asks anew.
    await expect(shared('a', () => Promise.resolve('a is back'))).resolves.toBe('a is back');
  });
});
