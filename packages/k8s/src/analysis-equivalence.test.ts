import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetricsAnalysis, resolveDeployConfig, type InstanceRecord, type Verdict } from '@baton/deploy';
import { scrape, type Snapshot } from '@baton/metrics';
import { renderManifests } from './index.js';
import { evaluatePromql, type Value, type Window } from './promql/evaluate.test.fixtures.js';

// What the rendered AnalysisTemplate asks Prometheus must mean what Baton's own
// judge computes. Real instances of the canary-service fixture (a Baton service
// on Express: three routes, errors injected at an exact share) serve one
// bounded batch of requests; the same scrapes of their /metrics, taken before
// and after it, go to Baton's judge and — with the labels Prometheus'
// relabelling adds to each pod's series — to a small PromQL evaluator running
// the rendered queries, whose answers are then read with the rendered
// success conditions. Both must reach the same verdict: a clean release
// passes, a release failing 2% of its requests fails against a 1-point
// margin and passes a 5-point one, and one failing 20% fails.

const FIXTURE = fileURLToPath(new URL('../../../test/dist/fixtures/canary-service.js', import.meta.url));
const DIGEST = `registry.example.com/canary@sha256:${'c'.repeat(64)}`;

interface Pod {
  process: ChildProcess;
  record: InstanceRecord;
  labels: Record<string, string>;
}

const pods: Pod[] = [];

async function startPod(id: string, release: string, role: 'baseline' | 'canary' | 'stable', errorRate: number): Promise<Pod> {
  const child = spawn(process.execPath, [FIXTURE], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', RELEASE: release, BATON_INSTANCE: id, BATON_PROPAGATION_DELAY_MS: '0', CANARY_STDIN_LIFELINE: '1', ...(errorRate > 0 ? { CANARY_FAULTS: JSON.stringify({ '*': { errorRate } }) } : {}) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => void (stderr = (stderr + chunk.toString()).slice(-2000)));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${id} exited (${code}) before listening: ${stderr}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
  });
  const url = `http://127.0.0.1:${port}`;
  const pod: Pod = {
    process: child,
    record: { id, release, host: '127.0.0.1', port, url, startedAtMs: Date.now(), ...(role === 'baseline' ? { role: 'baseline' as const } : {}) },
    // What a labelmap of the pod's labels gives its series in Prometheus.
    labels: { app_kubernetes_io_name: 'canary', release, baton_role: role },
  };
  pods.push(pod);
  return pod;
}

/** `count` requests to each pod, the routes mixed 50% /fast, 35% /items/:id, 15% /slow, 24 in flight per pod; every one completed. */
async function serve(targets: readonly Pod[], count: number): Promise<void> {
  const paths = Array.from({ length: count }, (_, i) => (i % 20 < 10 ? '/fast' : i % 20 < 17 ? `/items/${i}` : '/slow'));
  await Promise.all(
    targets.map(async (pod) => {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < paths.length) {
          const path = paths[next++] as string;
          const response = await fetch(`${pod.record.url}${path}`, { signal: AbortSignal.timeout(15_000) });
          await response.arrayBuffer();
        }
      };
      await Promise.all(Array.from({ length: 24 }, worker));
    }),
  );
}

/** The rendered analysis for these thresholds (a canary's, or blue/green's after the switch): each metric's query and conditions. */
function renderedMetrics(analysis: Record<string, number>, strategy: Record<string, unknown> = { type: 'canary', steps: [{ setWeight: 25 }, { analysis: { durationMs: 60_000 } }] }): { name: string; query: string; successCondition: string; failureCondition?: string }[] {
  const config = resolveDeployConfig(
    {
      service: 'canary',
      release: { version: 'v2', command: 'node' },
      instances: 4,
      strategy,
      analysis,
      kubernetes: { prometheus: { address: 'http://prometheus:9090' } },
    },
    { cwd: '/srv/canary' },
  );
  const template = renderManifests(config, { version: 'v2', image: DIGEST }).objects.find((object) => object.kind === 'AnalysisTemplate');
  return (template?.body as any).spec.metrics.map((metric: any) => ({ name: metric.name, query: metric.provider.prometheus.query, successCondition: metric.successCondition, failureCondition: metric.failureCondition }));
}

/** The few Argo Rollouts conditions the renderer writes, read as Argo's expression language reads them. */
function holds(condition: string, result: number[]): boolean {
  if (condition === 'false') return false;
  const all = /^all\(result, \{# <= ([\d.e-]+)\}\)$/.exec(condition);
  if (all) return result.every((value) => value <= Number(all[1]));
  const enough = /^len\(result\) > 0 && result\[0\] >= (\d+)$/.exec(condition);
  if (enough) return result.length > 0 && (result[0] as number) >= Number(enough[1]);
  const not = /^!\((.*)\)$/.exec(condition);
  if (not) return !holds(not[1] as string, result);
  throw new Error(`a condition the test cannot read: ${condition}`);
}

function valuesOf(value: Value): number[] {
  return value.kind === 'scalar' ? [value.value] : value.series.map((series) => series.value);
}

/** What Argo Rollouts would conclude from the rendered metrics over this window, and each metric's answer. */
function argoVerdict(metrics: ReturnType<typeof renderedMetrics>, window: Window): { outcome: Verdict['outcome']; answers: Record<string, number[]> } {
  const answers: Record<string, number[]> = {};
  let outcome: Verdict['outcome'] = 'pass';
  for (const metric of metrics) {
    const result = valuesOf(evaluatePromql(metric.query, window));
    answers[metric.name] = result;
    if (holds(metric.successCondition, result)) continue;
    if (metric.failureCondition === undefined || holds(metric.failureCondition, result)) outcome = 'fail';
    else if (outcome === 'pass') outcome = 'inconclusive';
  }
  return { outcome, answers };
}

const scrapeAll = (targets: readonly Pod[]): Promise<Snapshot[]> => Promise.all(targets.map((pod) => scrape(`${pod.record.url}/metrics`)));

let baseline: Pod;
beforeAll(async () => {
  if (!existsSync(FIXTURE)) throw new Error(`${FIXTURE} is missing: build the test workspace first (pnpm build)`);
  baseline = await startPod('canary-v1-baseline', 'v1', 'baseline', 0);
});
afterAll(async () => {
  for (const pod of pods) pod.process.kill('SIGKILL');
});

describe("the rendered PromQL reaches Baton's verdict on the same scrapes", () => {
  it.each([
    { errorRate: 0, margin: 0.01, expected: 'pass' },
    { errorRate: 0.02, margin: 0.01, expected: 'fail' },
    { errorRate: 0.02, margin: 0.05, expected: 'pass' },
    { errorRate: 0.2, margin: 0.01, expected: 'fail' },
  ] as const)('a canary failing $errorRate of its requests, against a margin of $margin: $expected', async ({ errorRate, margin, expected }) => {
    const canary = await startPod(`canary-v2-${errorRate}-${margin}`, 'v2', 'canary', errorRate);
    const targets = [baseline, canary];
    const instances = targets.map((pod) => pod.record);
    const thresholds = { maxErrorRateIncrease: margin, maxErrorRate: 0.5 };
    const judge = createMetricsAnalysis({ thresholds });
    const window = await judge.begin(instances);
    const start = await scrapeAll(targets);
    const startedAt = Date.now();
    await serve(targets, 1000);
    const end = await scrapeAll(targets);
    // Nothing is sent between these scrapes and the judge's own: the same counts.
    const verdict = await judge.judge(window, instances, { baseline: 'v1', candidate: 'v2' });
    const targetLabels = Object.fromEntries(targets.map((pod) => [`${pod.record.url}/metrics`, pod.labels]));
    const argo = argoVerdict(renderedMetrics(thresholds), { start, end, seconds: (Date.now() - startedAt) / 1000, targetLabels });

    expect(verdict.comparedWith?.kind, verdict.reasons.join('\n')).toBe('fresh');
    expect(verdict.outcome, verdict.reasons.join('\n')).toBe(expected);
    expect(argo.outcome, JSON.stringify(argo.answers)).toBe(expected);
    // The queries count what the judge counts: the candidate's requests and its whole error rate.
    expect(argo.answers['candidate-requests']).toEqual([verdict.releases['v2']?.requests]);
    expect(argo.answers['error-rate']?.[0]).toBeCloseTo(verdict.releases['v2']?.errorRate ?? NaN, 12);
    // Every route the judge compared alone is one the queries compared, with the same increase.
    const judged = (verdict.routes ?? []).filter((route) => route.errors !== undefined && !route.route.startsWith('('));
    if (errorRate > 0) {
      expect(judged.length).toBeGreaterThan(0);
      expect([...(argo.answers['error-rate-increase-by-route'] ?? [])].sort()).toEqual(judged.map((route) => route.errors?.effect).sort());
    }
  });
});

describe("blue/green: the rendered PromQL judges green against what blue served before the switch (offset), as Baton's judge does", () => {
  it.each([
    { errorRate: 0, expected: 'pass' },
    { errorRate: 0.02, expected: 'fail' },
    { errorRate: 0.2, expected: 'fail' },
  ] as const)('green failing $errorRate of its requests: $expected', async ({ errorRate, expected }) => {
    const blue = await startPod(`bg-v1-${errorRate}`, 'v1', 'stable', 0);
    const green = await startPod(`bg-v2-${errorRate}`, 'v2', 'canary', errorRate);
    const judge = createMetricsAnalysis({});
    // Before the switch: blue serves everything; Baton keeps that window as green's baseline.
    const before = await judge.begin([blue.record]);
    const beforeStart = await scrapeAll([blue]);
    let startedAt = Date.now();
    await serve([blue], 1000);
    const beforeEnd = await scrapeAll([blue]);
    const beforeSeconds = (Date.now() - startedAt) / 1000;
    const closed = await (judge.end as NonNullable<typeof judge.end>)(before);
    // After the switch: green serves everything; blue, kept for the rollback window, nothing.
    const after = await judge.begin([blue.record, green.record]);
    const afterStart = await scrapeAll([blue, green]);
    startedAt = Date.now();
    await serve([green], 1000);
    const afterEnd = await scrapeAll([blue, green]);
    const verdict = await judge.judge(after, [blue.record, green.record], { baseline: 'v1', candidate: 'v2', baselineWindow: closed });
    const targetLabels = Object.fromEntries([blue, green].map((pod) => [`${pod.record.url}/metrics`, pod.labels]));
    const window: Window = {
      start: afterStart,
      end: afterEnd,
      seconds: (Date.now() - startedAt) / 1000,
      targetLabels,
      offsets: { '60s': { start: beforeStart, end: beforeEnd, seconds: beforeSeconds, targetLabels } },
    };
    const argo = argoVerdict(renderedMetrics({}, { type: 'blue-green', analysisMs: 60_000 }), window);

    expect(verdict.comparedWith?.kind, verdict.reasons.join('\n')).toBe('before');
    expect(verdict.outcome, verdict.reasons.join('\n')).toBe(expected);
    expect(argo.outcome, JSON.stringify(argo.answers)).toBe(expected);
    expect(argo.answers['candidate-requests']).toEqual([verdict.releases['v2']?.requests]);
  });
});
