// The platform presets: each resolves, through the deploy config, to the
// strategy the README says, and its planned steps keep the promise users know
// from that platform (capacity, extra instances, the first traffic share).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isBatonError } from '@baton/lifecycle';
import { defineDeployConfig, planDeploy, resolveDeployConfig, type DeployConfig, type Step, type Strategy } from '../index.js';

const cwd = mkdtempSync(join(tmpdir(), 'baton-presets-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

function strategyOf(strategy: unknown, instances: number): Strategy {
  return resolveDeployConfig({ service: 'orders', release: { version: 'v2', command: 'node' }, instances, strategy }, { cwd }).strategy;
}

function problemsOf(strategy: unknown, instances = 5): string {
  try {
    strategyOf(strategy, instances);
  } catch (error) {
    expect(isBatonError(error, 'BATON_ERR_DEPLOY_CONFIG')).toBe(true);
    return (error as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(strategy)} to be refused`);
}

/**
 * Replays a deploy over a running stable release: after each step, the ready
 * instances of each release (a scale step ends with exactly that many ready)
 * and the candidate's share of traffic.
 */
function replay(steps: Step[], instances: number): { stable: number; candidate: number; candidatePercent: number | 'even' }[] {
  const state = { stable: instances, candidate: 0, candidatePercent: 0 as number | 'even' };
  return steps.map((step) => {
    if (step.kind === 'scale') {
      // No preset starts a fresh baseline beside a canary: each is its platform's exact shape.
      if (step.release === 'baseline' || step.baseline !== undefined) throw new Error(`a preset planned a baseline: ${JSON.stringify(step)}`);
      state[step.release] = step.instances;
    }
    if (step.kind === 'traffic') state.candidatePercent = step.candidatePercent;
    return { ...state };
  });
}

function planOf(strategy: unknown, instances: number): { strategy: Strategy; steps: Step[]; history: ReturnType<typeof replay> } {
  const resolved = strategyOf(strategy, instances);
  const steps = planDeploy(resolved, instances, { hasStable: true });
  return { strategy: resolved, steps, history: replay(steps, instances) };
}

const serving = (state: { stable: number; candidate: number }): number => state.stable + state.candidate;

describe('platform presets resolve to the strategy the README documents', () => {
  it('eb:all-at-once: blue/green with no rollback window — the full new set, then every request at once, the old set retired', () => {
    const { strategy, steps } = planOf({ preset: 'eb:all-at-once' }, 3);
    expect(strategy).toEqual({ type: 'blue-green', analysisMs: 0, rollbackWindowMs: 0 });
    expect(steps).toEqual([
      { kind: 'traffic', candidatePercent: 0 },
      { kind: 'scale', release: 'candidate', instances: 3 },
      { kind: 'traffic', candidatePercent: 100 },
      { kind: 'scale', release: 'stable', instances: 0 },
    ]);
  });

  it('eb:rolling, batchSize 2 of 5: batches of 2 retired first, never fewer than 3 serving, no extra instance', () => {
    const { strategy, history } = planOf({ preset: 'eb:rolling', batchSize: 2 }, 5);
    expect(strategy).toEqual({ type: 'rolling', maxSurge: 0, maxUnavailable: 2, analysisMs: 0 });
    for (const state of history) {
      expect(serving(state)).toBeGreaterThanOrEqual(5 - 2);
      expect(serving(state)).toBeLessThanOrEqual(5);
    }
    // The stable release leaves two by two: 5, 3, 1, 0.
    expect([...new Set(history.map((state) => state.stable))]).toEqual([5, 3, 1, 0]);
    expect(history.at(-1)).toMatchObject({ stable: 0, candidate: 5 });
  });

  it("eb:rolling: batchSize as EB's percentage, rounded up, 30% by default, never every instance", () => {
    expect(strategyOf({ preset: 'eb:rolling' }, 5)).toMatchObject({ maxSurge: 0, maxUnavailable: 2 }); // 30% of 5: a batch of 2
    expect(strategyOf({ preset: 'eb:rolling' }, 10)).toMatchObject({ maxSurge: 0, maxUnavailable: 3 });
    expect(strategyOf({ preset: 'eb:rolling' }, 2)).toMatchObject({ maxSurge: 0, maxUnavailable: 1 });
    expect(strategyOf({ preset: 'eb:rolling', batchSize: '50%' }, 4)).toMatchObject({ maxUnavailable: 2 });
    // 90% of 3 rounds up to 3, but a percentage below 100 never means every instance: 2.
    expect(strategyOf({ preset: 'eb:rolling', batchSize: '90%' }, 3)).toMatchObject({ maxUnavailable: 2 });
  });

  it('eb:rolling-with-additional-batch, batchSize 2 of 5: never fewer than 5 serving, at most 2 extra', () => {
    const { strategy, history } = planOf({ preset: 'eb:rolling-with-additional-batch', batchSize: 2 }, 5);
    expect(strategy).toEqual({ type: 'rolling', maxSurge: 2, maxUnavailable: 0, analysisMs: 0 });
    for (const state of history) {
      expect(serving(state)).toBeGreaterThanOrEqual(5);
      expect(serving(state)).toBeLessThanOrEqual(5 + 2);
    }
    expect(history.at(-1)).toMatchObject({ stable: 0, candidate: 5 });
    expect(strategyOf({ preset: 'eb:rolling-with-additional-batch' }, 5)).toMatchObject({ maxSurge: 2 }); // 30% of 5
    expect(strategyOf({ preset: 'eb:rolling-with-additional-batch', batchSize: '100%' }, 4)).toMatchObject({ maxSurge: 4 });
  });

  it('eb:immutable: a full new set beside the old one, both serving evenly, then the old one retired', () => {
    const { strategy, steps, history } = planOf({ preset: 'eb:immutable' }, 3);
    expect(strategy).toEqual({ type: 'rolling', maxSurge: 3, maxUnavailable: 0, analysisMs: 0 });
    expect(steps).toEqual([
      { kind: 'traffic', candidatePercent: 'even' },
      { kind: 'scale', release: 'candidate', instances: 3 },
      { kind: 'scale', release: 'stable', instances: 0 },
    ]);
    expect(history[1]).toEqual({ stable: 3, candidate: 3, candidatePercent: 'even' });
  });

  it('eb:traffic-splitting: the candidate gets `percent` first, judged over `evaluationMs`, then all traffic', () => {
    const { strategy, steps } = planOf({ preset: 'eb:traffic-splitting', percent: 25, evaluationMs: 2000 }, 4);
    expect(strategy).toEqual({ type: 'canary', steps: [{ setWeight: 25 }, { analysis: { durationMs: 2000 } }], analysisMs: 0, baseline: false });
    expect(steps).toEqual([
      { kind: 'scale', release: 'candidate', instances: 1 },
      { kind: 'traffic', candidatePercent: 25 },
      { kind: 'analysis', durationMs: 2000 },
      { kind: 'scale', release: 'candidate', instances: 4 },
      { kind: 'traffic', candidatePercent: 100 },
      { kind: 'scale', release: 'stable', instances: 0 },
    ]);
    // EB's defaults: 10% for 5 minutes.
    expect(strategyOf({ preset: 'eb:traffic-splitting' }, 3)).toEqual({ type: 'canary', steps: [{ setWeight: 10 }, { analysis: { durationMs: 300_000 } }], analysisMs: 0, baseline: false });
  });

  it('heroku:preboot: blue/green with no rollback window — traffic switches once every new instance is ready', () => {
    const { strategy, steps } = planOf({ preset: 'heroku:preboot' }, 2);
    expect(strategy).toEqual({ type: 'blue-green', analysisMs: 0, rollbackWindowMs: 0 });
    expect(steps.map((step) => step.kind)).toEqual(['traffic', 'scale', 'traffic', 'scale']);
  });

  it('every preset takes analysisMs, passed through to its strategy', () => {
    const presets: Record<string, Step['kind'][]> = {
      'eb:all-at-once': ['traffic', 'scale', 'traffic', 'analysis', 'scale'],
      'eb:rolling': ['traffic', 'scale', 'scale', 'analysis', 'scale', 'scale', 'analysis'],
      'eb:rolling-with-additional-batch': ['traffic', 'scale', 'analysis', 'scale', 'scale', 'analysis', 'scale'],
      'eb:immutable': ['traffic', 'scale', 'analysis', 'scale'],
      'eb:traffic-splitting': ['scale', 'traffic', 'analysis', 'analysis', 'scale', 'traffic', 'scale'],
      'heroku:preboot': ['traffic', 'scale', 'traffic', 'analysis', 'scale'],
    };
    for (const [preset, kinds] of Object.entries(presets)) {
      const { strategy, steps } = planOf({ preset, analysisMs: 1500 }, 2);
      expect(strategy.analysisMs, preset).toBe(1500);
      expect(steps.map((step) => step.kind), preset).toEqual(kinds);
    }
  });

  it('every preset, from 1 to 8 instances, keeps something serving and ends with only the new release', () => {
    for (const preset of ['eb:all-at-once', 'eb:rolling', 'eb:rolling-with-additional-batch', 'eb:immutable', 'eb:traffic-splitting', 'heroku:preboot']) {
      for (let instances = preset === 'eb:rolling' ? 2 : 1; instances <= 8; instances += 1) {
        const { history } = planOf({ preset }, instances);
        for (const state of history) expect(serving(state), `${preset} × ${instances}`).toBeGreaterThanOrEqual(1);
        expect(history.at(-1), `${preset} × ${instances}`).toMatchObject({ stable: 0, candidate: instances, candidatePercent: preset.startsWith('eb:rolling') || preset === 'eb:immutable' ? 'even' : 100 });
      }
    }
  });

  it('editors know every preset and its settings', () => {
    const config: DeployConfig = defineDeployConfig({ service: 'orders', release: { version: 'v2', command: 'node' }, strategy: { preset: 'eb:rolling', batchSize: '30%' } });
    expect(config.strategy).toEqual({ preset: 'eb:rolling', batchSize: '30%' });
    // @ts-expect-error eb:immutable has no batch size
    const immutable: DeployConfig['strategy'] = { preset: 'eb:immutable', batchSize: 2 };
    // @ts-expect-error a percentage is a string ending in %
    const rolling: DeployConfig['strategy'] = { preset: 'eb:rolling', batchSize: '30' };
    // @ts-expect-error no such preset
    const unknown: DeployConfig['strategy'] = { preset: 'eb:blue-green' };
    expect([immutable, rolling, unknown]).toHaveLength(3);
  });
});

describe('bad preset settings are refused, each naming its field and what is accepted', () => {
  it('an unknown preset lists the known ones', () => {
    const message = problemsOf({ preset: 'eb:blue-green' });
    expect(message).toContain('strategy.preset: one of eb:all-at-once, eb:rolling, eb:rolling-with-additional-batch, eb:immutable, eb:traffic-splitting, heroku:preboot; got "eb:blue-green"');
    expect(problemsOf({ preset: 42 })).toContain('strategy.preset: one of eb:all-at-once');
  });

  it('a batch size that is no count nor percentage of instances', () => {
    expect(problemsOf({ preset: 'eb:rolling', batchSize: 0 })).toContain("strategy.batchSize: a number of instances (an integer from 1) or a percentage of them from '1%' to '100%'");
    expect(problemsOf({ preset: 'eb:rolling', batchSize: 0 })).toContain('got 0');
    expect(problemsOf({ preset: 'eb:rolling-with-additional-batch', batchSize: '150%' })).toContain('strategy.batchSize: a number of instances (an integer from 1) or a percentage');
    expect(problemsOf({ preset: 'eb:rolling-with-additional-batch', batchSize: '150%' })).toContain('got "150%"');
    expect(problemsOf({ preset: 'eb:rolling', batchSize: 1.5 })).toContain('got 1.5');
    expect(problemsOf({ preset: 'eb:rolling', batchSize: '30' })).toContain('got "30"');
    expect(problemsOf({ preset: 'eb:rolling-with-additional-batch', batchSize: 6 }, 5)).toContain('strategy.batchSize: at most instances (5); got 6');
  });

  it('eb:rolling with a batch of every instance: nothing would serve, so it is refused with what to use instead', () => {
    for (const batchSize of [5, 7, '100%']) {
      const message = problemsOf({ preset: 'eb:rolling', batchSize }, 5);
      expect(message).toContain('strategy.batchSize: fewer than instances (5)');
      expect(message).toContain('leave nothing serving');
      expect(message).toContain('eb:immutable');
      expect(message).toContain(`got ${JSON.stringify(batchSize)}`);
    }
    // One instance: any batch is all of it, the default too.
    expect(problemsOf({ preset: 'eb:rolling' }, 1)).toContain('strategy.batchSize: fewer than instances (1)');
    expect(problemsOf({ preset: 'eb:rolling' }, 1)).toContain('got "30%" (the default, for 1 instance)');
  });

  it("traffic splitting's percent and evaluation time", () => {
    expect(problemsOf({ preset: 'eb:traffic-splitting', percent: 100 })).toContain('strategy.percent: an integer from 1 to 99');
    expect(problemsOf({ preset: 'eb:traffic-splitting', percent: 100 })).toContain('got 100');
    expect(problemsOf({ preset: 'eb:traffic-splitting', percent: 0 })).toContain('strategy.percent: an integer from 1 to 99');
    expect(problemsOf({ preset: 'eb:traffic-splitting', evaluationMs: '5m' })).toContain('strategy.evaluationMs: an integer from 100 to 3600000');
    expect(problemsOf({ preset: 'eb:traffic-splitting', evaluationMs: '5m' })).toContain('got "5m"');
    expect(problemsOf({ preset: 'heroku:preboot', analysisMs: -1 })).toContain('strategy.analysisMs: an integer from 0 to 3600000');
  });

  it('a setting the preset does not take is named, with the accepted ones', () => {
    expect(problemsOf({ preset: 'eb:immutable', batchSize: 2 })).toContain('strategy.batchSize: not a setting of the eb:immutable preset; accepted: preset, analysisMs');
    expect(problemsOf({ preset: 'eb:rolling', maxSurge: 1 })).toContain('strategy.maxSurge: not a setting of the eb:rolling preset; accepted: preset, batchSize, analysisMs');
    expect(problemsOf({ preset: 'eb:traffic-splitting', type: 'canary' })).toContain('strategy.type: not a setting of the eb:traffic-splitting preset; accepted: preset, percent, evaluationMs, analysisMs');
    expect(problemsOf({ preset: 'heroku:preboot', rollbackWindowMs: 0 })).toContain('strategy.rollbackWindowMs: not a setting of the heroku:preboot preset; accepted: preset, analysisMs');
  });

  it('every problem is reported at once', () => {
    const message = problemsOf({ preset: 'eb:traffic-splitting', percent: 0, evaluationMs: 10, batchSize: 2 });
    expect(message).toContain('strategy.percent:');
    expect(message).toContain('strategy.evaluationMs:');
    expect(message).toContain('strategy.batchSize: not a setting of the eb:traffic-splitting preset');
  });
});
