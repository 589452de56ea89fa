import { describe, expect, it } from 'vitest';
import { newWatch } from './deploy-context.js';

describe('newWatch', () => {
  it('takes a listener per start of a large batch without Node warning of a leak (MaxListenersExceededWarning at 11)', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', onWarning);
    try {
      const watch = newWatch();
      for (let n = 0; n < 30; n += 1) watch.signal.addEventListener('abort', () => {});
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.map((warning) => warning.name)).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });
});
