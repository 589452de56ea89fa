import { describe, expect, it } from 'vitest';
import { pickSmoothWeighted } from './builtin-balancer.js';

function run(weights: Record<string, number>, picks: number): string[] {
  const candidates = Object.entries(weights).map(([id, weight]) => ({ id, weight, currentWeight: 0 }));
  return Array.from({ length: picks }, () => pickSmoothWeighted(candidates)?.id ?? '-');
}

describe('smooth weighted round-robin', () => {
  it('gives each candidate exactly its share over every window, interleaved', () => {
    expect(run({ a: 3, b: 1 }, 8)).toEqual(['a', 'a', 'b', 'a', 'a', 'a', 'b', 'a']);
    const picks = run({ a: 5, b: 1, c: 1 }, 700);
    expect(picks.filter((id) => id === 'a')).toHaveLength(500);
    expect(picks.filter((id) => id === 'b')).toHaveLength(100);
    // Interleaved: a never runs more than its weight's worth in a row.
    expect(picks.join('')).not.toContain('aaaaaa');
  });

  it('a canary at 1 of 100 gets its request in the first window', () => {
    const picks = run({ stable: 99, canary: 1 }, 100);
    expect(picks.filter((id) => id === 'canary')).toHaveLength(1);
  });

  it('skips weight 0 and answers undefined when nothing has weight', () => {
    expect(run({ a: 0, b: 2 }, 3)).toEqual(['b', 'b', 'b']);
    expect(run({ a: 0 }, 1)).toEqual(['-']);
    expect(run({}, 1)).toEqual(['-']);
  });
});
