import { EventEmitter } from 'node:events';
import type { ClientFeature, ClientSegment } from '../toggle-file.js';

/**
 * The features unleash-client evaluates, held by Baton instead of by
 * unleash-client's own repository.
 *
 * unleash-client's repository applies a `200` whose features are malformed
 * (it only emits an error), counts its bootstrap as a synchronisation, and
 * keeps a non-atomic backup keyed by app name only.
 * Handing the `Unleash` instance this repository (its public `repository`
 * option) keeps unleash-client as the evaluation engine, with its strategies,
 * constraints, segments, variants and usage metrics, while Baton decides what
 * is loaded and when.
 */
export class FeatureRepository extends EventEmitter {
  #features = new Map<string, ClientFeature>();
  #segments = new Map<number, ClientSegment>();
  #loaded = false;

  /** True once features were loaded from anywhere. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** Replaces every feature at once (a reader never sees half of an update). */
  replace(features: readonly ClientFeature[], segments: readonly ClientSegment[] = []): void {
    this.#features = new Map(features.map((feature) => [feature.name, feature]));
    this.#segments = new Map(segments.map((segment) => [segment.id, segment]));
    const first = !this.#loaded;
    this.#loaded = true;
    // Synchronous, so the Unleash instance counts as ready before the next evaluation.
    if (first) this.emit('ready');
    this.emit('changed', features);
  }

  features(): ClientFeature[] {
    return [...this.#features.values()];
  }

  segments(): ClientSegment[] {
    return [...this.#segments.values()];
  }

  // The RepositoryInterface unleash-client calls.
  getToggle(name: string): ClientFeature | undefined {
    return this.#features.get(name);
  }

  getToggles(): ClientFeature[] {
    return this.features();
  }

  getTogglesWithSegmentData(): ClientFeature[] {
    return this.features().map((feature) => ({
      ...feature,
      strategies: feature.strategies.map((strategy) => {
        const ids = Array.isArray(strategy.segments) ? (strategy.segments as number[]) : [];
        return { ...strategy, segments: ids.map((id) => this.#segments.get(id)).filter((segment) => segment !== undefined) };
      }),
    }));
  }

  getSegment(id: number): ClientSegment | undefined {
    return this.#segments.get(id);
  }

  // Baton starts and stops the loading itself; the Unleash instance's calls are no-ops.
  async start(): Promise<void> {}

  stop(): void {}
}
