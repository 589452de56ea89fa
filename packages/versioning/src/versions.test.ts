import { describe, expect, it } from 'vitest';
import { isBatonError } from '@baton/lifecycle';
import { versionScheme } from './version-scheme.js';
import { defineVersions } from './versions.js';

describe('version schemes', () => {
  it('order dates, semver and integers, and refuse what is not one', () => {
    const date = versionScheme('date');
    expect(date.key('2025-03-01')).toBeLessThan(date.key('2025-03-02') as number);
    expect(date.key('2024-12-31')).toBeLessThan(date.key('2025-01-01') as number);
    for (const bad of ['2025-02-30', '2025-13-01', '2025-3-1', '20250301', ' 2025-03-01', '2025-03-01T00:00', '', 'latest']) {
      expect(date.key(bad), bad).toBeUndefined();
    }
    const semver = versionScheme('semver');
    expect(semver.key('1.10.0')).toBeGreaterThan(semver.key('1.9.99') as number);
    expect(semver.key('2.0.0')).toBeGreaterThan(semver.key('1.999999.999999') as number);
    for (const bad of ['1.2', '01.2.3', '1.2.3-beta', 'v1.2.3', '1.2.3.4', '1000000.0.0']) expect(semver.key(bad), bad).toBeUndefined();
    const integer = versionScheme('integer');
    expect(integer.key('10')).toBeGreaterThan(integer.key('9') as number);
    for (const bad of ['v2', '02', '-1', '1.0', '1e3', '9'.repeat(40)]) expect(integer.key(bad), bad).toBeUndefined();
    expect(() => versionScheme('calver' as 'date')).toThrow(/unknown scheme "calver"; known: date, semver, integer/);
  });
});

describe('defineVersions', () => {
  const versions = defineVersions({ versions: ['2024-01-10', '2024-09-01', '2025-03-01'] });

  it('knows the oldest, the latest and the default (oldest unless told)', () => {
    expect(versions).toMatchObject({ oldest: '2024-01-10', latest: '2025-03-01', default: '2024-01-10', list: ['2024-01-10', '2024-09-01', '2025-03-01'] });
    expect(defineVersions({ versions: ['1', '2'], scheme: 'integer', default: 'latest' }).default).toBe('2');
    expect(defineVersions({ versions: ['1', '2', '3'], scheme: 'integer', default: '2' }).default).toBe('2');
    expect(versions.compare('2024-01-10', '2025-03-01')).toBeLessThan(0);
    expect(versions.has('2024-09-01')).toBe(true);
    expect(versions.has('2024-09-02')).toBe(false);
  });

  it('resolves a date to the closest earlier version, exactly named or not', () => {
    expect(versions.resolve('2024-09-01')).toEqual({ ok: true, version: '2024-09-01', exact: true });
    expect(versions.resolve('2024-10-15')).toEqual({ ok: true, version: '2024-09-01', exact: false });
    expect(versions.resolve('2024-01-10')).toEqual({ ok: true, version: '2024-01-10', exact: true });
    expect(versions.resolve('2031-01-01')).toEqual({ ok: true, version: '2025-03-01', exact: false });
  });

  it('refuses malformed versions and dates before the oldest, listing the supported ones, never falling back to the latest', () => {
    expect(versions.resolve('2024-01-09')).toEqual({
      ok: false,
      problem: 'unsupported',
      message: 'Version 2024-01-09 is older than the oldest supported version, 2024-01-10. Supported versions: 2024-01-10, 2024-09-01, 2025-03-01.',
    });
    expect(versions.resolve('latest')).toMatchObject({ ok: false, problem: 'malformed', message: '"latest" is not a date like 2025-03-01. Supported versions: 2024-01-10, 2024-09-01, 2025-03-01.' });
    expect(versions.resolve('x'.repeat(500))).toMatchObject({ ok: false, problem: 'malformed', message: expect.stringMatching(/^"x{40}…" is not a date/) });
  });

  it('matches semver and integer versions exactly', () => {
    const semver = defineVersions({ scheme: 'semver', versions: ['1.0.0', '1.4.0', '2.0.0'] });
    expect(semver.resolve('1.4.0')).toEqual({ ok: true, version: '1.4.0', exact: true });
    expect(semver.resolve('1.5.0')).toEqual({ ok: false, problem: 'unsupported', message: 'Version 1.5.0 is not supported. Supported versions: 1.0.0, 1.4.0, 2.0.0.' });
    expect(semver.resolve('1.4')).toMatchObject({ ok: false, problem: 'malformed' });
  });

  it('refuses bad definitions with a clear error', () => {
    const bad: [unknown, RegExp][] = [
      [{ versions: [] }, /give `versions`, the supported versions oldest first/],
      [{ versions: ['2025-03-01', '2024-01-10'] }, /2024-01-10 is older than 2025-03-01; list versions oldest first, each once/],
      [{ versions: ['2025-03-01', '2025-03-01'] }, /2025-03-01 appears twice/],
      [{ versions: ['2025-02-30'] }, /versions\[0\] "2025-02-30" is not a date like 2025-03-01 \(scheme "date"\)/],
      [{ versions: ['1.0.0'], scheme: 'integer' }, /is not a whole number like 3/],
      [{ versions: ['2025-03-01'], default: '2024-01-01' }, /`default` must be "oldest", "latest" or one of 2025-03-01; got "2024-01-01"/],
    ];
    for (const [options, message] of bad) {
      let thrown: unknown;
      try {
        defineVersions(options as never);
      } catch (error) {
        thrown = error;
      }
      expect(isBatonError(thrown, 'BATON_ERR_INVALID_OPTION'), String(message)).toBe(true);
      expect((thrown as Error).message).toMatch(message);
    }
  });
});
