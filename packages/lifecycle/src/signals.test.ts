import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { waitFor } from '@baton/testing';
import { createLifecycle } from './lifecycle.js';
import { silentLogger } from './logger.js';
import { ROUTER_DRAINS_FIRST_REASON } from './platform-environment.js';
import { holdSignals, installSignalHandlers, startShutdownFor, wantsOut } from './signals.js';

// A stand-in for `process` as a signal source (real signals are in serve.test.ts).
function fakeProcess(): EventEmitter & Pick<NodeJS.Process, 'on' | 'off' | 'emit'> {
  return new EventEmitter() as never;
}

describe('installSignalHandlers', () => {
  it('by default ignores a repeated SIGTERM and forces on a repeated SIGINT', async () => {
    for (const [second, forced] of [['SIGTERM', false], ['SIGINT', true]] as const) {
      const target = fakeProcess();
      const lifecycle = createLifecycle({ logger: silentLogger, shutdown: { propagationDelayMs: 20_000, gracePeriodMs: 60_000 } });
      await lifecycle.start();
      const uninstall = installSignalHandlers(lifecycle, { target });
      target.emit('SIGTERM', 'SIGTERM');
      target.emit(second, second);
      if (!forced) {
        expect(lifecycle.state).toBe('draining');
        void lifecycle.force('test cleanup');
      }
      const report = await lifecycle.shutdown();
      expect(report.forcedBy).toBe('force');
      uninstall();
      expect(target.listenerCount('SIGTERM')).toBe(0);
    }
  });

  it('routerDrainsFirst: a SIGTERM skips the propagation delay and the report says why; a SIGINT keeps it', async () => {
    const target = fakeProcess();
    const lifecycle = createLifecycle({ logger: silentLogger, shutdown: { propagationDelayMs: 20_000, gracePeriodMs: 60_000 } });
    await lifecycle.start();
    installSignalHandlers(lifecycle, { target, routerDrainsFirst: true });
    target.emit('SIGTERM', 'SIGTERM');
    const report = await lifecycle.shutdown();
    expect(report.phases[0]).toMatchObject({ phase: 'propagation', cut: false, skipped: ROUTER_DRAINS_FIRST_REASON });
    expect(report.forced).toBe(false);

    const other = fakeProcess();
    const kept = createLifecycle({ logger: silentLogger, shutdown: { propagationDelayMs: 20_000, gracePeriodMs: 60_000 } });
    await kept.start();
    installSignalHandlers(kept, { target: other, routerDrainsFirst: true });
    other.emit('SIGINT', 'SIGINT');
    expect(kept.shutdownProgress()?.phase).toBe('propagation');
    other.emit('SIGINT', 'SIGINT');
    const cut = await kept.shutdown();
    expect(cut.phases[0]).toMatchObject({ phase: 'propagation', cut: true });
    expect(cut.phases[0]).not.toHaveProperty('skipped');
  });

  it('rejects a bad policy with what is accepted', () => {
    const lifecycle = createLifecycle();
    expect(() => installSignalHandlers(lifecycle, { target: fakeProcess(), onSecondSignal: { SIGTERM: 'kill' } as never })).toThrow(
      /`onSecondSignal.SIGTERM` must be one of "force", "ignore"; got "kill"/,
    );
  });
});

describe('holdSignals + startShutdownFor', () => {
  it('a signal during a framework startup starts the shutdown once handlers exist; a repeat reaches them', async () => {
    const target = fakeProcess();
    const release = holdSignals(['SIGTERM', 'SIGINT'], target);
    // Without the hold, a signal here would find no listener (and a real process would die undrained).
    target.emit('SIGINT', 'SIGINT');
    target.emit('SIGINT', 'SIGINT');
    const lifecycle = createLifecycle({ logger: silentLogger, shutdown: { propagationDelayMs: 20_000, gracePeriodMs: 60_000 } });
    const held = release();
    expect(held).toEqual(['SIGINT', 'SIGINT']);
    expect(target.listenerCount('SIGINT')).toBe(0);
    const replay = startShutdownFor(lifecycle, held);
    expect(lifecycle.isShuttingDown).toBe(true);
    installSignalHandlers(lifecycle, { target });
    replay(target);
    // The repeated SIGINT forced it: the 20 s propagation delay is cut.
    await waitFor(() => lifecycle.state === 'stopped', 5000, 'stopped');
    expect((await lifecycle.shutdown()).forcedBy).toBe('force');
  });

  it('nothing held: nothing happens', () => {
    const target = fakeProcess();
    const lifecycle = createLifecycle();
    const replay = startShutdownFor(lifecycle, holdSignals(['SIGTERM'], target)());
    replay(target);
    expect(lifecycle.isShuttingDown).toBe(false);
  });
});

describe('wantsOut', () => {
  it('is true for a repeated forcing signal only', () => {
    expect(wantsOut(['SIGINT'])).toBe(false);
    expect(wantsOut(['SIGTERM', 'SIGTERM'])).toBe(false);
    expect(wantsOut(['SIGTERM', 'SIGINT'])).toBe(true);
    expect(wantsOut(['SIGINT', 'SIGINT'])).toBe(true);
    expect(wantsOut(['SIGTERM', 'SIGTERM'], 'force')).toBe(true);
    expect(wantsOut(['SIGINT', 'SIGINT'], { SIGINT: 'ignore' })).toBe(false);
  });
});
