// `pnpm demo`, run as a test: the orders service's v1 ×3, a canary of v2
// promoted on its metrics, a bad v3 caught and rolled back — under a steady
// load counted request by request. The promise it shows: zero requests
// failed by the deploys. Its v3 report is opened in headless Chromium.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatDemoSummary, runDemo } from './index.js';

const CHROMIUM = '/usr/bin/chromium';

describe('the demo', () => {
  it('deploys v2 with zero failed requests and rolls the bad v3 back, failing only its own 500s', async () => {
    const result = await runDemo({ ratePerSecond: 150 });
    try {
      const [v1, v2, v3] = result.phases;
      expect(v1?.outcome.phase).toBe('succeeded');
      expect(v2?.outcome.phase, v2?.outcome.reason).toBe('succeeded');
      expect(v3?.outcome.phase).toBe('rolled-back');
      // About 30%: the share depends on how many requests v3 has seen when the window closes.
      expect(v3?.outcome.reason).toMatch(/^analysis failed: v3: (2\d|3\d)\.\d% errors/);
      expect(result.failedByDeploys, formatDemoSummary(result)).toBe(0);
      expect(result.failedByBadRelease).toBeGreaterThan(0);
      expect(result.served).toBeGreaterThan(1000);
      const summary = formatDemoSummary(result);
      expect(summary).toContain('failed because of the deploys: 0 — none, as promised');
      expect(summary).toMatch(/failed because v3 was bad: \d+/);
      // Every request sent is accounted for: served, failed (by the deploys or by v3), or in flight when the load stopped.
      expect(result.served + result.failedByDeploys + result.failedByBadRelease + result.inFlightAtStop, summary).toBe(result.load.sent);
      expect(summary).toContain(`Requests sent: ${result.load.sent} `);

      // The report of the rollback, as a person would open it.
      const html = v3?.outcome.report?.html as string;
      expect(existsSync(html)).toBe(true);
      if (!existsSync(CHROMIUM)) {
        console.log('demo.test: /usr/bin/chromium is missing (.ci/run installs it) — the report is not rendered');
        return;
      }
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking'] });
      try {
        const page = await browser.newPage();
        await page.goto(pathToFileURL(html).href);
        expect(await page.locator('h1').textContent()).toContain('orders: v2 → v3');
        expect(await page.locator('h1 .outcome').textContent()).toBe('rolled-back');
        // Real samples: both releases drawn (and v2's fresh baseline beside the canary), the rollback marked, the failing verdict listed.
        expect(await page.locator('#weight polyline').evaluateAll((lines) => lines.map((line) => line.getAttribute('data-release')).sort())).toEqual(['v2', 'v2 (baseline)', 'v3']);
        expect(await page.locator('#errors polyline[data-release="v3"]').count()).toBe(1);
        expect(await page.locator('#rate line.mark.rollback').count()).toBe(1);
        expect(await page.locator('li.fail').count()).toBe(1);
      } finally {
        await browser.close();
      }
    } finally {
      await rm(result.stateDir, { recursive: true, force: true });
    }
  });
});
