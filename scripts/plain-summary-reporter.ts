import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends every run with one plain line, `N passed, N failed, N skipped`, that
 * CI systems and people can read without parsing vitest's coloured summary;
 * and one line of seconds per project (import, set-up, tests and hooks of its
 * files, added up), so the CI budget can be read per project. On 2 cores
 * vitest runs one file at a time, so these add up to the run's wall time.
 */
export default class PlainSummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    // Files that failed outside their tests: a load error, or a beforeAll/afterAll hook that threw.
    const failedFiles: string[] = [];
    const msPerProject = new Map<string, number>();
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed += 1;
        else if (state === 'failed') counts.failed += 1;
        else counts.skipped += 1;
      }
      const testFailed = [...module.children.allTests()].some((test) => test.result().state === 'failed');
      if (module.state() === 'failed' && !testFailed) failedFiles.push(module.relativeModuleId);
      const d = module.diagnostic();
      const ms = d.environmentSetupDuration + d.prepareDuration + d.setupDuration + d.collectDuration + d.duration;
      const project = module.project.name || '(root)';
      msPerProject.set(project, (msPerProject.get(project) ?? 0) + ms);
    }
    const files = failedFiles.length === 0 ? '' : `, ${failedFiles.length} file(s) failed outside their tests (${failedFiles.join(', ')})`;
    const perProject = [...msPerProject]
      .sort(([, a], [, b]) => b - a)
      .map(([project, ms]) => `${project} ${Math.round(ms / 1000)}`)
      .join(', ');
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped${files}\n`);
    if (perProject !== '') process.stdout.write(`seconds per project: ${perProject}\n`);
  }
}
