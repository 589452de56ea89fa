// The report page opened in a real headless Chromium (Debian's, driven by
// playwright-core): it must render its charts and every decision with no
// script, no network and no console error. The events are those a canary
// that gets rolled back writes; the orchestrator's own tests render pages of
// real deploys.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport, renderReportHtml, writeReport, type DeployEvent, type DeployRecord, type Verdict } from './index.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.log('report.test: /usr/bin/chromium is missing (apt-get install chromium; .ci/run does) — the page-rendering test is skipped');

const t0 = Date.parse('2026-11-26T12:00:00Z');
const record: DeployRecord = {
  id: 'orders-20261126T120000-abcd1234',
  from: 'v2',
  to: 'v3',
  candidate: { version: 'v3', command: 'node' },
  strategy: { type: 'canary', steps: [{ setWeight: 20 }] },
  steps: [
    { kind: 'scale', release: 'candidate', instances: 1 },
    { kind: 'traffic', candidatePercent: 20 },
    { kind: 'analysis', durationMs: 5000 },
  ],
  stepIndex: 2,
  traffic: 0,
  phase: 'rolled-back',
  reason: 'analysis failed: v3: 20.0% errors (40 of 200) against v2\'s 0.0%.',
  startedAtMs: t0,
  endedAtMs: t0 + 12_000,
};

function events(): DeployEvent[] {
  const list: DeployEvent[] = [
    { atMs: t0 - 60_000, type: 'deploy-started', message: 'An older deploy.', data: { deployId: 'older' } },
    { atMs: t0, type: 'deploy-started', message: 'Deploying v3 over v2 (canary, 3 steps).', data: { deployId: record.id } },
    { atMs: t0 + 10, type: 'step', message: 'Step 1/3: candidate release to 1 instance.', data: { index: 0 } },
    { atMs: t0 + 900, type: 'instance-ready', message: 'v3-7 is ready and in the router (880 ms after start).' },
    { atMs: t0 + 1000, type: 'step', message: 'Step 2/3: candidate gets 20% of traffic.', data: { index: 1 } },
    { atMs: t0 + 1001, type: 'weights', message: 'Traffic: v2 80%, v3 20%.', data: { shares: { v2: 80, v3: 20 } } },
    { atMs: t0 + 1010, type: 'step', message: 'Step 3/3: analysis over 5 s.', data: { index: 2 } },
    {
      atMs: t0 + 6100,
      type: 'analysis',
      message: 'Analysis: fail.',
      data: {
        verdict: {
          outcome: 'fail',
          reasons: ["v3: 20.0% errors (40 of 200) against v2's 0.0%; the limit is +1.0 points."],
          releases: { v2: { requests: 800, errors: 0, errorRate: 0, requestRate: 160, latency: 0.004 }, v3: { requests: 200, errors: 40, errorRate: 0.2, requestRate: 40, latency: 0.005 } },
          atMs: t0 + 6100,
        },
      },
    },
    { atMs: t0 + 6200, type: 'rollback', message: 'Rolling back v3: <analysis failed> & more' },
    { atMs: t0 + 6210, type: 'weights', message: 'Traffic: v2 100%, v3 0%.', data: { shares: { v2: 100, v3: 0 } } },
    { atMs: t0 + 6600, type: 'weights', message: 'Traffic: v2 100%.', data: { shares: { v2: 100 } } },
    { atMs: t0 + 12_000, type: 'rolled-back', message: 'Rolled back: v2 serves all traffic; v3 is stopped.' },
  ];
  for (let s = 0; s <= 12; s += 1) {
    const canary = s >= 1 && s <= 6;
    list.push({
      atMs: t0 + s * 1000,
      type: 'sample',
      message: '',
      data: {
        releases: {
          v2: { weightPercent: canary ? 80 : 100, requestRate: canary ? 160 : 200, errorRate: 0, p99Ms: 4, inFlight: 2, backends: 3 },
          ...(canary ? { v3: { weightPercent: 20, requestRate: 40, errorRate: 8, p99Ms: 5, inFlight: 1, backends: 1 } } : {}),
        },
      },
    });
  }
  return list.sort((a, b) => a.atMs - b.atMs);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-report-'));
});
afterAll(async () => {
  if (process.env['KEEP_REPORT'] !== '1') await rm(dir, { recursive: true, force: true }); else console.log('report kept in', dir);
});

describe('the deploy report', () => {
  it('keeps only this deploy\'s events, its steps with durations, and its verdicts', () => {
    const report = buildReport('orders', record, events());
    expect(report.decisions[0]?.message).toBe('Deploying v3 over v2 (canary, 3 steps).');
    expect(report.steps.map((step) => [step.description, step.endMs - step.startMs])).toEqual([
      ['candidate release to 1 instance', 990],
      ['candidate gets 20% of traffic', 10],
      ['analysis over 5 s', 6200 - 1010],
    ]);
    expect(report.verdicts.map((verdict) => verdict.outcome)).toEqual(['fail']);
    expect(report.samples).toHaveLength(13);
    expect(report).toMatchObject({ from: 'v2', to: 'v3', phase: 'rolled-back', strategy: 'canary' });
  });

  it("shows the statistical judge's routes in a table: each side's figures, the tests, and what failed", () => {
    const verdict: Verdict = {
      outcome: 'fail',
      reasons: ['v3 fails GET /items/:id: …'],
      releases: { v2: { requests: 900, errors: 0, errorRate: 0, requestRate: 90, latency: 0.1 }, v3: { requests: 880, errors: 0, errorRate: 0, requestRate: 88, latency: 0.3 } },
      atMs: t0 + 6100,
      method: 'statistics',
      latencyQuantile: 0.99,
      comparedWith: { kind: 'fresh', release: 'v2', instances: ['v2-b4'] },
      routes: [
        {
          route: 'GET /items/:id',
          outcome: 'fail',
          candidate: { requests: 400, errors: 0, errorRate: 0, latency: 0.3, latencyObservations: 400 },
          baseline: { requests: 410, errors: 0, errorRate: 0, latency: 0.1, latencyObservations: 410 },
          latency: { method: 'mann-whitney u', pValue: 1e-9, adjustedPValue: 3e-9, effect: 2.97, effectUpper: 3.4, margin: 1.5, quantile: 0.5, failed: true },
          summary: 'v3 fails GET /items/:id',
        },
        {
          route: '(other routes)',
          pooled: ['GET /a<b>', 'GET /c'],
          outcome: 'not-judged',
          candidate: { requests: 12, errors: 1, errorRate: 1 / 12, latency: undefined, latencyObservations: 0 },
          baseline: { requests: 9, errors: 0, errorRate: 0, latency: undefined, latencyObservations: 0 },
          summary: 'not judged',
        },
      ],
    };
    const report = buildReport('orders', record, events());
    const html = renderReportHtml({ ...report, verdicts: [verdict] });
    expect(html).toContain('<table class="routes">');
    expect(html).toContain('<tr class="fail"><td>GET /items/:id</td><td>fail</td><td>400 req, 0 err, p99 300 ms</td><td>410 req, 0 err, p99 100 ms</td><td>—</td><td>p50 2.97× (margin 1.5×); p &lt; 0.0001, adjusted &lt; 0.0001 <b>failed</b></td></tr>');
    // Route names are the service's: escaped, never interpreted.
    expect(html).toContain('<td>(other routes): GET /a&lt;b&gt;, GET /c</td><td>not-judged</td>');
    expect(html).toContain('compared with the fresh baseline of v2 (v2-b4)');
  });

  it.skipIf(!hasChromium)('renders in headless Chromium: four charts with a line per release, every decision, the reason, and no errors', async () => {
    const report = buildReport('orders', record, events());
    const paths = await writeReport(dir, report);
    expect(JSON.parse(await readFile(paths.json, 'utf8'))).toMatchObject({ deployId: record.id, phase: 'rolled-back' });

    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking'] });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });
      page.on('pageerror', (error) => problems.push(error.message));
      page.on('request', (request) => {
        if (!request.url().startsWith('file:')) problems.push(`fetched ${request.url()}`);
      });
      await page.goto(pathToFileURL(paths.html).href);
      expect(await page.title()).toBe('Deploy of v3 — rolled-back');
      expect(await page.locator('figure svg').count()).toBe(4);
      // Two releases, each drawn in every chart.
      expect(await page.locator('#weight polyline').evaluateAll((lines) => lines.map((line) => line.getAttribute('data-release')))).toEqual(['v2', 'v3']);
      expect(await page.locator('#errors polyline[data-release="v3"]').count()).toBe(1);
      // Weights are drawn as the steps the orchestrator set: v3 at 20% from 1 s, back to 0 at the rollback.
      const v3Weights = (await page.locator('#weight polyline[data-release="v3"]').getAttribute('points'))?.split(' ') ?? [];
      expect(v3Weights).toHaveLength(6);
      // The rollback is marked on the timeline, and its text escaped, not interpreted.
      expect(await page.locator('#rate line.mark.rollback').count()).toBe(1);
      expect(await page.locator('tr.rollback td').nth(2).textContent()).toBe('Rolling back v3: <analysis failed> & more');
      expect(await page.locator('h1 .outcome').textContent()).toBe('rolled-back');
      expect(await page.locator('body').textContent()).toContain("v3: 20.0% errors (40 of 200) against v2's 0.0%");
      // Laid out: the charts have a real size.
      const box = await page.locator('#weight svg').boundingBox();
      expect(box?.width).toBeGreaterThan(300);
      expect(box?.height).toBeGreaterThan(50);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
