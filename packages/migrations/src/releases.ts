import { BatonError } from '@baton/lifecycle';

const SEMVERISH = /^v?(\d+(?:\.\d+)*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]*)?$/;

/**
 * Orders two release names. With `order` (oldest first) a release's place in
 * the list decides; otherwise names are read as versions, semver-ish: an
 * optional `v`, dotted numbers compared as numbers (`v10` after `v9`,
 * `1.10.0` after `1.9.3`), a `-pre` part sorting before the release itself.
 * Throws `BATON_ERR_INVALID_OPTION` for a name it cannot place.
 *
 * @example
 * compareReleases('v6', 'v7');                        // < 0
 * compareReleases('blue', 'green', ['blue', 'green']); // < 0
 */
export function compareReleases(a: string, b: string, order?: readonly string[]): number {
  if (order && order.length > 0) return placeOf(a, order) - placeOf(b, order);
  const left = parse(a);
  const right = parse(b);
  const length = Math.max(left.numbers.length, right.numbers.length);
  for (let i = 0; i < length; i += 1) {
    const difference = (left.numbers[i] ?? 0) - (right.numbers[i] ?? 0);
    if (difference !== 0) return difference;
  }
  if (left.pre === right.pre) return 0;
  if (left.pre === undefined) return 1;
  if (right.pre === undefined) return -1;
  return comparePre(left.pre, right.pre);
}

/** True when {@link compareReleases} can place the name (to validate options up front). */
export function isOrderable(release: string, order?: readonly string[]): boolean {
  return order && order.length > 0 ? order.includes(release) : SEMVERISH.test(release);
}

function placeOf(release: string, order: readonly string[]): number {
  const index = order.indexOf(release);
  if (index === -1) throw new BatonError('BATON_ERR_INVALID_OPTION', `Release "${release}" is not in releaseOrder (${order.join(', ')}); add it where it belongs.`);
  return index;
}

function parse(release: string): { numbers: number[]; pre: string | undefined } {
  const match = SEMVERISH.exec(release);
  if (!match) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `Release "${release}" is not a version (v7, 1.4.2, 2026.11.26-rc.1); name releases that way or pass releaseOrder, the releases oldest first.`);
  }
  return { numbers: (match[1] ?? '0').split('.').map(Number), pre: match[2] };
}

function comparePre(a: string, b: string): number {
  const left = a.split('.');
  const right = b.split('.');
  for (let i = 0; i < Math.max(left.length, right.length); i += 1) {
    const x = left[i];
    const y = right[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x) ? Number(x) : undefined;
    const ny = /^\d+$/.test(y) ? Number(y) : undefined;
    if (nx !== undefined && ny !== undefined) {
      if (nx !== ny) return nx - ny;
    } else if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
