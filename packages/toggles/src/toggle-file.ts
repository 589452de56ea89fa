import { BatonError } from '@baton/lifecycle';
import type { ToggleDefinitions, ToggleRegistry } from './registry.js';

/**
 * A toggle as Unleash's client API serves it (`GET /api/client/features`),
 * the shape unleash-client evaluates. Only the fields Baton checks are typed;
 * the rest pass through untouched.
 */
export interface ClientFeature {
  name: string;
  enabled: boolean;
  strategies: { name: string; parameters?: Record<string, unknown>; constraints?: unknown[]; [key: string]: unknown }[];
  variants?: { name: string; weight: number; payload?: { type: string; value: string }; [key: string]: unknown }[];
  [key: string]: unknown;
}

/** A segment as Unleash's client API serves it: constraints shared by strategies that name its `id`. */
export interface ClientSegment {
  id: number;
  constraints: unknown[];
  [key: string]: unknown;
}

/** What {@link parseToggleFile} read. */
export interface ToggleFile {
  /** `map`: `{ "newCheckout": true }`; `unleash`: Unleash's client format `{ "version": 2, "features": [...] }`. */
  format: 'map' | 'unleash';
  /** Every toggle of the file, as unleash-client evaluates them. */
  features: ClientFeature[];
  /** Segments the strategies refer to (Unleash format only; empty otherwise). */
  segments: ClientSegment[];
  /** Names in the file that the registry does not know (another service's, or a typo): ignored by the registry's API. */
  unknown: string[];
  /** Registry toggles the file does not mention: they keep their defaults. */
  missing: string[];
}

/**
 * Reads a toggle file in either of two shapes and checks it against the
 * registry: a plain map of name → on/off, or Unleash's own client format
 * (what `/api/client/features` answers, what an export or backup holds), so a
 * service can start on a file and move to an Unleash server by configuration
 * alone. Throws `BATON_ERR_TOGGLE_FILE` saying where the text is wrong;
 * nothing half-read is returned.
 *
 * @example
 * parseToggleFile('{ "newCheckout": true }', toggles, 'toggles.json');
 */
export function parseToggleFile<D extends ToggleDefinitions>(text: string, registry: ToggleRegistry<D>, source = 'toggle file'): ToggleFile {
  const fail = (what: string): never => {
    throw new BatonError('BATON_ERR_TOGGLE_FILE', `${source}: ${what}`);
  };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return fail(`not valid JSON (${error instanceof Error ? error.message : String(error)}).`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return fail('expected an object: { "<toggle>": true | false } or Unleash\'s { "version": 2, "features": [...] }.');
  }
  const record = data as Record<string, unknown>;
  const format = 'features' in record ? 'unleash' : 'map';
  const features = format === 'unleash' ? unleashFeatures(record, fail) : mapFeatures(record, fail);
  const names = new Set(features.map((feature) => feature.name));
  return {
    format,
    features,
    segments: format === 'unleash' ? unleashSegments(record, fail) : [],
    unknown: [...names].filter((name) => !registry.has(name)),
    missing: registry.names.filter((name) => !names.has(name)),
  };
}

type Fail = (what: string) => never;

/**
 * Checks a `/api/client/features` answer (or an Unleash-format file) the way
 * {@link parseToggleFile} does, so a garbage or partial answer from a server
 * or a proxy is refused as a whole instead of half-applied. Throws
 * `BATON_ERR_TOGGLE_FILE` naming `source` and the first fault.
 */
export function checkClientFeatures(data: unknown, source: string): { features: ClientFeature[]; segments: ClientSegment[] } {
  const fail = (what: string): never => {
    throw new BatonError('BATON_ERR_TOGGLE_FILE', `${source}: ${what}`);
  };
  if (data === null || typeof data !== 'object' || Array.isArray(data) || !('features' in data)) {
    return fail('expected Unleash\'s { "version": 2, "features": [...] }.');
  }
  const record = data as Record<string, unknown>;
  return { features: unleashFeatures(record, fail), segments: unleashSegments(record, fail) };
}

function unleashSegments(record: Record<string, unknown>, fail: Fail): ClientSegment[] {
  const { segments } = record;
  if (segments === undefined) return [];
  if (!Array.isArray(segments)) return fail('"segments" must be an array.');
  segments.forEach((segment: unknown, index) => {
    const s = segment as Record<string, unknown> | null;
    if (s === null || typeof s !== 'object' || typeof s.id !== 'number' || !Array.isArray(s.constraints)) {
      fail(`segments[${index}] must have a number "id" and a "constraints" array.`);
    }
  });
  return segments as ClientSegment[];
}

function mapFeatures(record: Record<string, unknown>, fail: Fail): ClientFeature[] {
  return Object.entries(record).map(([name, value]) => {
    if (typeof value !== 'boolean') fail(`"${name}" must be true or false; got ${JSON.stringify(value)}.`);
    return { name, enabled: value as boolean, strategies: [{ name: 'default', parameters: {}, constraints: [] }] };
  });
}

function unleashFeatures(record: Record<string, unknown>, fail: Fail): ClientFeature[] {
  const { features } = record;
  if (!Array.isArray(features)) return fail('"features" must be an array.');
  const seen = new Set<string>();
  return features.map((feature: unknown, index) => {
    const at = `features[${index}]`;
    if (feature === null || typeof feature !== 'object') fail(`${at} must be an object.`);
    const f = feature as Record<string, unknown>;
    if (typeof f.name !== 'string' || f.name === '') fail(`${at}.name must be a non-empty string.`);
    const name = f.name as string;
    if (seen.has(name)) fail(`${at}: "${name}" appears twice.`);
    seen.add(name);
    if (typeof f.enabled !== 'boolean') fail(`${at} ("${name}").enabled must be true or false.`);
    if (!Array.isArray(f.strategies)) fail(`${at} ("${name}").strategies must be an array.`);
    (f.strategies as unknown[]).forEach((strategy, s) => {
      if (strategy === null || typeof strategy !== 'object' || typeof (strategy as { name?: unknown }).name !== 'string') {
        fail(`${at} ("${name}").strategies[${s}] must be an object with a "name".`);
      }
    });
    if (f.variants !== undefined) {
      if (!Array.isArray(f.variants)) fail(`${at} ("${name}").variants must be an array.`);
      (f.variants as unknown[]).forEach((variant, v) => {
        const vr = variant as Record<string, unknown> | null;
        if (vr === null || typeof vr !== 'object' || typeof vr.name !== 'string' || typeof vr.weight !== 'number') {
          fail(`${at} ("${name}").variants[${v}] must have a string "name" and a number "weight".`);
        }
      });
    }
    return f as ClientFeature;
  });
}
