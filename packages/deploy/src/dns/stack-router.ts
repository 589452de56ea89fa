import { readFile } from 'node:fs/promises';
import { BatonError } from '@baton/lifecycle';
import { acceptsConnection } from '../internal/accepts-connection.js';
import { writeFileAtomic } from '../internal/atomic-file.js';
import type { BackendState, BackendStatus, Router } from '../model.js';
import { recordValueOf, STACK_COLORS, type DnsSwitchSettings, type StackColor } from './dns-switch-config.js';

/** The service's record as the switch reads and writes it (`dnsRecord` of `dns-record.ts`). */
export interface SwitchRecord {
  read(): Promise<{ values: string[]; ttl: number } | undefined>;
  write(value: { values: string[]; ttl: number }): Promise<void>;
}

/** A move of the record from one stack to the other. */
export interface StackSwitchEvent {
  atMs: number;
  from: StackColor | undefined;
  to: StackColor;
  /** The record's TTL (seconds) as it was written. */
  ttl: number;
}

/** Which release each color's stack serves, and which one the record points at: `<stateDir>/stacks/colors.json`. */
interface ColorsFile {
  releases: Partial<Record<StackColor, string>>;
  /** Where this router last pointed the record (written once read back as asked). */
  live?: StackColor;
}

/**
 * The orchestrator's router for blue/green by DNS: two stacks, each color its
 * own router on its own address, and the record that says which one clients
 * reach. A release's instances all go into one color's router; within that
 * router every ready instance serves (whatever the split), because a client
 * may reach either stack while caches expire. The split the orchestrator asks
 * for decides the record: the color with all the weight gets it — before
 * that, its router is checked to serve (a ready backend, the address
 * answering). A split over both colors is refused: a record points at one
 * stack.
 */
export class StackRouter implements Router {
  readonly kind: string;
  readonly url: string;
  readonly stacks: Readonly<Record<StackColor, Router>>;
  readonly #config: DnsSwitchSettings | undefined;
  readonly #record: SwitchRecord | undefined;
  readonly #colorsFile: string;
  readonly #port: number;
  /** The state and weight the orchestrator asked for, by backend id: the split across the colors. */
  readonly #asked = new Map<string, { state: BackendState | undefined; weight: number }>();
  readonly #colorOfId = new Map<string, StackColor>();
  #colors: ColorsFile | undefined;
  #live: StackColor | undefined | null = null;
  #ttl: number | undefined;
  /** Switches made and not yet taken by {@link takeSwitches}. */
  readonly #switches: StackSwitchEvent[] = [];

  constructor(options: { stacks: Record<StackColor, Router>; colorsFile: string; port: number; config?: DnsSwitchSettings; record?: SwitchRecord }) {
    this.stacks = options.stacks;
    this.kind = options.stacks.blue.kind;
    this.#config = options.config;
    this.#record = options.record;
    this.#colorsFile = options.colorsFile;
    this.#port = options.port;
    this.url = options.config === undefined ? options.stacks.blue.url : `http://${options.config.name}:${options.port}`;
  }

  /** The record's moves since the last call (the orchestrator journals each). */
  takeSwitches(): StackSwitchEvent[] {
    return this.#switches.splice(0);
  }

  /** The color whose stack serves `release`, if one does. */
  async colorOf(release: string): Promise<StackColor | undefined> {
    const colors = await this.#readColors();
    return STACK_COLORS.find((color) => colors.releases[color] === release);
  }

  /** The release `color`'s stack serves, if any. */
  async releaseOf(color: StackColor): Promise<string | undefined> {
    return (await this.#readColors()).releases[color];
  }

  /**
   * The color the record points at: where this router last pointed it (read
   * back as asked then), else as the server answers now. Trusting its own
   * switch, a rollback to where the record already points needs no DNS
   * server — one that is down or refuses the key cannot hold it up.
   */
  async live(): Promise<StackColor | undefined> {
    if (this.#live !== null) return this.#live;
    const colors = await this.#readColors();
    if (colors.live !== undefined) {
      this.#live = colors.live;
      return this.#live;
    }
    const current = await this.#recordOrThrow().read();
    this.#ttl = current?.ttl;
    this.#live = current === undefined ? undefined : STACK_COLORS.find((color) => current.values.includes(recordValueOf(this.#configOrThrow(), color)));
    return this.#live;
  }

  /** The record's TTL on the server now, seconds; undefined when there is no record yet. */
  async ttl(): Promise<number | undefined> {
    const current = await this.#recordOrThrow().read();
    this.#ttl = current?.ttl;
    return this.#ttl;
  }

  /** Rewrites the record with the same value and TTL `ttl` (no switch); nothing to do without a record. */
  async setTtl(ttl: number): Promise<void> {
    const current = await this.#recordOrThrow().read();
    if (current === undefined || current.ttl === ttl) return;
    await this.#recordOrThrow().write({ values: current.values, ttl });
    this.#ttl = ttl;
  }

  /** Requests `color`'s router has taken since its backends were added, and those in flight there now. */
  async trafficOf(color: StackColor): Promise<{ requests: number; inFlight: number }> {
    const backends = await this.stacks[color].backends();
    return { requests: backends.reduce((sum, backend) => sum + backend.requestsTotal, 0), inFlight: backends.reduce((sum, backend) => sum + backend.inFlight, 0) };
  }

  async add(backend: { id: string; release: string; host: string; port: number }): Promise<void> {
    const color = await this.#colorFor(backend.release);
    await this.stacks[color].add(backend);
    this.#colorOfId.set(backend.id, color);
  }

  async set(changes: readonly { id: string; state?: BackendState; weight?: number }[]): Promise<void> {
    const byColor: Record<StackColor, { id: string; state?: BackendState; weight?: number }[]> = { blue: [], green: [] };
    for (const change of changes) {
      const color = await this.#colorOfBackend(change.id);
      const before = this.#asked.get(change.id);
      const asked = { state: change.state ?? before?.state, weight: change.weight ?? before?.weight ?? 0 };
      this.#asked.set(change.id, asked);
      // Within its stack a ready backend always serves: the split across colors is the record's.
      const translated: { id: string; state?: BackendState; weight?: number } = { id: change.id };
      if (change.state !== undefined) translated.state = change.state;
      if (change.weight !== undefined) translated.weight = asked.state === 'ready' || asked.state === undefined ? Math.max(change.weight, 1) : change.weight;
      byColor[color].push(translated);
    }
    for (const color of STACK_COLORS) if (byColor[color].length > 0) await this.stacks[color].set(byColor[color]);
    if (this.#record !== undefined) await this.#followSplit();
  }

  async remove(id: string): Promise<void> {
    const color = await this.#colorOfBackend(id).catch(() => undefined);
    if (color === undefined) return;
    await this.stacks[color].remove(id);
    this.#asked.delete(id);
    this.#colorOfId.delete(id);
    // A color with nothing left in it is free for the next release.
    if ((await this.stacks[color].backends()).length === 0) {
      const colors = await this.#readColors();
      if (colors.releases[color] !== undefined) {
        delete colors.releases[color];
        await this.#writeColors(colors);
      }
    }
  }

  async backends(): Promise<BackendStatus[]> {
    const [blue, green] = await Promise.all(STACK_COLORS.map((color) => this.stacks[color].backends()));
    return [...(blue ?? []), ...(green ?? [])];
  }

  async close(): Promise<void> {
    await Promise.all(STACK_COLORS.map((color) => this.stacks[color].close()));
  }

  /** Points the record at the color that has all the asked weight, when that is not where it points. */
  async #followSplit(): Promise<void> {
    const weightOf: Record<StackColor, number> = { blue: 0, green: 0 };
    for (const [id, asked] of this.#asked) {
      const color = this.#colorOfId.get(id);
      if (color !== undefined && (asked.state === 'ready' || asked.state === undefined)) weightOf[color] += asked.weight;
    }
    const wanted = STACK_COLORS.filter((color) => weightOf[color] > 0);
    if (wanted.length === 0) return;
    const [to] = wanted;
    if (wanted.length > 1 || to === undefined) {
      throw new BatonError('BATON_ERR_ROUTER', 'A DNS switch sends all traffic to one stack at a time: a split over blue and green cannot be set. Use the router switch for a canary.');
    }
    const from = await this.live();
    if (from === to) return;
    await this.#switchTo(to, from);
  }

  async #switchTo(to: StackColor, from: StackColor | undefined): Promise<void> {
    const config = this.#configOrThrow();
    // Verified before a client is sent there: the router has a ready backend it can reach, and answers on its address.
    const serving = (await this.stacks[to].backends()).filter((backend) => backend.state === 'ready' && backend.health !== 'down');
    if (serving.length === 0) throw new BatonError('BATON_ERR_ROUTER', `The ${to} stack's router has no ready backend it can reach: the record stays where it is.`);
    const address = config.stacks[to].address;
    if (!(await acceptsConnection({ host: address, port: this.#port }, 2000))) {
      throw new BatonError('BATON_ERR_ROUTER', `The ${to} stack's router does not answer at ${address}:${this.#port}: the record stays where it is.`);
    }
    // The TTL the record has now (lowered ahead of the switch, maybe), kept as it is.
    const ttl = (await this.#recordOrThrow().read())?.ttl ?? config.ttl;
    await this.#recordOrThrow().write({ values: [recordValueOf(config, to)], ttl });
    this.#live = to;
    this.#ttl = ttl;
    await this.#writeColors({ ...(await this.#readColors()), live: to });
    // The stack that lost the record closes each keep-alive connection after its next answer: the client resolves the name again.
    await this.stacks[to].setKeepAlive?.(true);
    if (from !== undefined) await this.stacks[from].setKeepAlive?.(false);
    this.#switches.push({ atMs: Date.now(), from, to, ttl });
  }

  async #colorFor(release: string): Promise<StackColor> {
    const colors = await this.#readColors();
    const held = STACK_COLORS.find((color) => colors.releases[color] === release);
    if (held !== undefined) return held;
    for (const color of STACK_COLORS) {
      const holder = colors.releases[color];
      if (holder !== undefined && (await this.stacks[color].backends()).some((backend) => backend.release === holder)) continue;
      colors.releases[color] = release;
      await this.#writeColors(colors);
      return color;
    }
    throw new BatonError('BATON_ERR_ROUTER', `Both stacks serve a release (blue: ${colors.releases.blue}, green: ${colors.releases.green}): ${release} has no stack to go to until one of them is retired.`);
  }

  async #colorOfBackend(id: string): Promise<StackColor> {
    const known = this.#colorOfId.get(id);
    if (known !== undefined) return known;
    for (const color of STACK_COLORS) {
      if ((await this.stacks[color].backends()).some((backend) => backend.id === id)) {
        this.#colorOfId.set(id, color);
        return color;
      }
    }
    throw new BatonError('BATON_ERR_ROUTER', `No backend ${id} in either stack's router.`);
  }

  async #readColors(): Promise<ColorsFile> {
    if (this.#colors !== undefined) return this.#colors;
    try {
      const parsed = JSON.parse(await readFile(this.#colorsFile, 'utf8')) as ColorsFile;
      this.#colors = { releases: { ...parsed.releases }, ...(parsed.live === 'blue' || parsed.live === 'green' ? { live: parsed.live } : {}) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new BatonError('BATON_ERR_ROUTER', `${this.#colorsFile} cannot be read (${error instanceof Error ? error.message : String(error)}): it says which release each stack serves.`);
      this.#colors = { releases: {} };
    }
    return this.#colors;
  }

  async #writeColors(colors: ColorsFile): Promise<void> {
    this.#colors = colors;
    await writeFileAtomic(this.#colorsFile, `${JSON.stringify(colors, null, 2)}\n`);
  }

  #recordOrThrow(): SwitchRecord {
    if (this.#record === undefined) throw new BatonError('BATON_ERR_ROUTER', 'These stacks were opened without their DNS switch (baton down / status): the record cannot be read or changed.');
    return this.#record;
  }

  #configOrThrow(): DnsSwitchSettings {
    if (this.#config === undefined) throw new BatonError('BATON_ERR_ROUTER', 'These stacks were opened without their DNS switch config.');
    return this.#config;
  }
}
