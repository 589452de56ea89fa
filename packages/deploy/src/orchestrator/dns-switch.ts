import type { StackColor } from '../dns/dns-switch-config.js';
import type { StackRouter } from '../dns/stack-router.js';
import { sleep } from '../internal/instance-probes.js';
import type { DeployRecord } from '../service-state.js';
import type { Step } from '../strategies/step.js';
import type { DeployContext } from './deploy-context.js';

/** One second of a stack's traffic after the record left it: the straggler curve's point. */
export interface StragglerPoint {
  /** Seconds after the switch at the end of this point's second. */
  second: number;
  /** New requests the stack's router took in that second. */
  requests: number;
}

/** What the `stragglers` event says: how long the old stack kept getting traffic after the switch. */
export interface StragglerSummary {
  color: StackColor;
  release: string;
  /** `quiet`: no new request for the TTL plus the margin; `deadline`: still getting requests when the deadline came. */
  ended: 'quiet' | 'deadline';
  /** From the switch to the end of the wait. */
  waitedMs: number;
  /** From the switch to the last new request the stack took (0: none after the switch). */
  lastRequestMs: number;
  /** Requests the stack took after the switch. */
  requests: number;
  ttl: number;
  marginMs: number;
  /** Requests per second after the switch (from when this orchestrator watched: a resumed one starts later). */
  curve: StragglerPoint[];
}

/**
 * Watches the router of a stack the record left: every second, how many new
 * requests it took, and when it last took one. Started at the switch, so
 * the curve begins there, and read by the wait that retires the stack.
 */
export class StragglerWatch {
  readonly color: StackColor;
  readonly release: string;
  readonly switchedAtMs: number;
  readonly curve: StragglerPoint[] = [];
  lastRequestAtMs: number;
  requests = 0;
  #stopped = false;
  readonly #loop: Promise<void>;

  constructor(ctx: DeployContext, stacks: StackRouter, target: { color: StackColor; release: string; switchedAtMs: number }) {
    this.color = target.color;
    this.release = target.release;
    this.switchedAtMs = target.switchedAtMs;
    // Quiet is counted from when the watch began: at the switch, or — an orchestrator resumed later — now, since
    // what the stack took in between is not known.
    this.lastRequestAtMs = Math.max(target.switchedAtMs, ctx.now());
    this.#loop = this.#watch(ctx, stacks);
  }

  async #watch(ctx: DeployContext, stacks: StackRouter): Promise<void> {
    let before: number | undefined;
    while (!this.#stopped) {
      const traffic = await stacks.trafficOf(this.color).catch(() => undefined);
      const now = ctx.now();
      if (traffic !== undefined) {
        // A backend removed takes its count with it: a drop is no new request.
        const fresh = before === undefined ? 0 : Math.max(traffic.requests - before, 0);
        before = traffic.requests;
        if (fresh > 0 || traffic.inFlight > 0) this.lastRequestAtMs = now;
        this.requests += fresh;
        this.#count(now, fresh);
      }
      // Polled four times a second (the router's counters are cheap to read), told per second.
      await sleep(250);
    }
  }

  /** Adds `fresh` requests to the second after the switch that `now` falls in, filling the seconds before it with zeros. */
  #count(now: number, fresh: number): void {
    const second = Math.max(1, Math.ceil((now - this.switchedAtMs) / 1000));
    while ((this.curve.at(-1)?.second ?? 0) < second) this.curve.push({ second: (this.curve.at(-1)?.second ?? 0) + 1, requests: 0 });
    const point = this.curve.at(-1);
    if (point !== undefined) point.requests += fresh;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
  }
}

/** Journals the record's moves the last weights made, and watches each stack it left. */
export async function noteSwitches(ctx: DeployContext, stacks: StackRouter): Promise<void> {
  const record = ctx.state.deploy;
  for (const move of stacks.takeSwitches()) {
    const releaseTo = (await stacks.releaseOf(move.to)) ?? '?';
    if (record !== undefined) {
      record.dns = { ...record.dns, switched: { atMs: move.atMs, to: move.to, ...(move.from === undefined ? {} : { from: move.from }), ttl: move.ttl } };
      await ctx.save();
    }
    const releaseFrom = move.from === undefined ? undefined : await stacks.releaseOf(move.from);
    await ctx.event(
      'dns-switched',
      `DNS: ${stacks.url} now points at the ${move.to} stack (${releaseTo}), TTL ${move.ttl} s.${move.from === undefined ? '' : ` The ${move.from} stack (${releaseFrom ?? 'no release'}) closes each keep-alive connection after its next answer and is watched until its traffic stops.`}`,
      { from: move.from, to: move.to, release: releaseTo, ttl: move.ttl },
    );
    if (move.from !== undefined && releaseFrom !== undefined) watchStragglers(ctx, stacks, { color: move.from, release: releaseFrom, switchedAtMs: move.atMs });
  }
}

function watchStragglers(ctx: DeployContext, stacks: StackRouter, target: { color: StackColor; release: string; switchedAtMs: number }): StragglerWatch {
  const running = ctx.stragglers.get(target.color);
  if (running !== undefined && running.switchedAtMs === target.switchedAtMs) return running;
  void running?.stop();
  const watch = new StragglerWatch(ctx, stacks, target);
  ctx.stragglers.set(target.color, watch);
  return watch;
}

/** The `dns-ttl` steps: lower the record's TTL ahead of the switch, wait the old one out, put it back after. */
export async function runDnsTtl(ctx: DeployContext, step: Extract<Step, { kind: 'dns-ttl' }>, record: DeployRecord): Promise<void> {
  const stacks = ctx.stacks;
  if (stacks === undefined) return;
  switch (step.action) {
    case 'lower': {
      const current = await stacks.ttl();
      if (current === undefined || current <= step.ttl) {
        // Lowered by this deploy before a restart (or lower already): the old TTL is waited out from then — or, not journaled, from now.
        if (current !== undefined && record.dns?.lowered === undefined) {
          record.dns = { ...record.dns, lowered: { atMs: ctx.now(), fromTtl: Math.max(current, strategyTtl(record)) } };
          await ctx.save();
        }
        return;
      }
      await stacks.setTtl(step.ttl);
      record.dns = { ...record.dns, lowered: { atMs: ctx.now(), fromTtl: current } };
      await ctx.save();
      await ctx.event('dns-ttl', `DNS: the TTL of ${stacks.url} is lowered from ${current} s to ${step.ttl} s; the switch waits until caches holding the old TTL have expired.`, { from: current, to: step.ttl });
      return;
    }
    case 'await': {
      const lowered = record.dns?.lowered;
      if (lowered === undefined) return;
      const remaining = lowered.atMs + lowered.fromTtl * 1000 - ctx.now();
      if (remaining <= 0) return;
      await ctx.event('dns-ttl-wait', `DNS: waiting ${Math.ceil(remaining / 1000)} s more for caches holding the old TTL (${lowered.fromTtl} s) to expire.`, { remainingMs: remaining });
      await waitUntil(ctx, () => ctx.now() >= lowered.atMs + lowered.fromTtl * 1000);
      return;
    }
    case 'restore':
      await restoreTtl(ctx, record, step.ttl);
      return;
  }
}

/** Puts the record's TTL back to `ttl` (the lowered one served through the deploy). */
export async function restoreTtl(ctx: DeployContext, record: DeployRecord, ttl: number): Promise<void> {
  const stacks = ctx.stacks;
  if (stacks === undefined || record.dns?.lowered === undefined) return;
  const current = await stacks.ttl();
  if (current === undefined || current === ttl) return;
  await stacks.setTtl(ttl);
  await ctx.event('dns-ttl', `DNS: the TTL of ${stacks.url} is back to ${ttl} s.`, { from: current, to: ttl });
}

/**
 * Keeps the stack of `release` up after the record left it, until its
 * traffic has stopped: at least `holdMs` after the switch (the rollback
 * window), and until it took no new request for the TTL plus the margin —
 * at most `deadlineMs` after the switch. Says how it went in a `stragglers`
 * event, with the curve.
 */
export async function awaitStragglers(ctx: DeployContext, release: string, limits: { holdMs: number; marginMs: number; deadlineMs: number }): Promise<void> {
  const stacks = ctx.stacks;
  const record = ctx.state.deploy;
  if (stacks === undefined || record === undefined) return;
  const color = await stacks.colorOf(release);
  const switched = record.dns?.switched;
  // Only a stack the record left has stragglers: one it never pointed at (a rollback before the switch) has none.
  if (color === undefined || switched === undefined || switched.from !== color) return;
  const watch = watchStragglers(ctx, stacks, { color, release, switchedAtMs: switched.atMs });
  // The TTL the record had when it moved: what a cache may hold it for.
  const ttl = switched.ttl;
  const quietMs = ttl * 1000 + limits.marginMs;
  const deadline = switched.atMs + Math.max(limits.deadlineMs, limits.holdMs);
  await ctx.event(
    'stragglers-waiting',
    `Keeping ${release} (the ${color} stack) up until its traffic stops: no new request for ${ttl} s (TTL) + ${limits.marginMs / 1000} s, at most until ${Math.round((deadline - switched.atMs) / 1000)} s after the switch.`,
    { color, release, quietMs, deadlineMs: deadline - switched.atMs },
  );
  let ended: 'quiet' | 'deadline' = 'quiet';
  await waitUntil(ctx, () => {
    const now = ctx.now();
    if (now >= deadline) {
      ended = now - watch.lastRequestAtMs >= quietMs ? 'quiet' : 'deadline';
      return true;
    }
    return now - switched.atMs >= limits.holdMs && now - watch.lastRequestAtMs >= quietMs;
  });
  await watch.stop();
  ctx.stragglers.delete(color);
  const summary: StragglerSummary = {
    color,
    release,
    ended,
    waitedMs: ctx.now() - switched.atMs,
    lastRequestMs: Math.max(watch.lastRequestAtMs - switched.atMs, 0),
    requests: watch.requests,
    ttl,
    marginMs: limits.marginMs,
    curve: watch.curve,
  };
  await ctx.event(
    'stragglers',
    ended === 'quiet'
      ? `${release} (the ${color} stack) took ${watch.requests} requests after the switch, the last ${(summary.lastRequestMs / 1000).toFixed(1)} s after it; none for ${Math.round(quietMs / 1000)} s since: retiring it.`
      : `${release} (the ${color} stack) still took requests ${Math.round(summary.waitedMs / 1000)} s after the switch (${watch.requests} in all, the last ${(summary.lastRequestMs / 1000).toFixed(1)} s after it): retiring it at the deadline. Clients that keep a resolved address past its TTL lose it now.`,
    { stragglers: summary },
  );
}

/** Waits, watching for an abort or a crashed candidate (the context's wait signal), until `done` holds. */
async function waitUntil(ctx: DeployContext, done: () => boolean): Promise<void> {
  while (!done()) await sleep(Math.min(ctx.pollMs * 2, 250), ctx.waitSignal());
}

function strategyTtl(record: DeployRecord): number {
  return record.strategy.type === 'blue-green' ? (record.strategy.switch?.ttl ?? 0) : 0;
}

/** Stops every straggler watch still running (the deploy ended: a rollback left the stable stack's watch behind). */
export async function stopStragglerWatches(ctx: DeployContext): Promise<void> {
  const watches = [...ctx.stragglers.values()];
  ctx.stragglers.clear();
  await Promise.all(watches.map((watch) => watch.stop()));
}
