/**
 * What the built-in router hides from public clients: the instances'
 * `/metrics` (per-route traffic, process internals) and probe answers with
 * details (`/healthz?verbose`: check names, states, error messages). The
 * orchestrator reads both from the instances directly, never through the
 * router, so hiding them costs Baton nothing.
 */
export interface ExposeSettings {
  /** Forward requests for the metrics path(s); default false (404). */
  metrics: boolean;
  /** Forward probe requests that carry a query (`?verbose` asks for every check's details); default false (404). Plain probes always pass. */
  probeDetails: boolean;
  /** Paths of the instances' metrics; default `['/metrics']`. */
  metricsPaths: readonly string[];
  /** Paths of the instances' probes; default `/livez`, `/readyz`, `/startupz`, `/healthz`. */
  probePaths: readonly string[];
}

export const DEFAULT_METRICS_PATHS: readonly string[] = ['/metrics'];
export const DEFAULT_PROBE_PATHS: readonly string[] = ['/livez', '/readyz', '/startupz', '/healthz'];

/**
 * A path as the loosest framework would route it, so a spelling that the
 * backend routes to `/metrics` is hidden too: percent-decoded (`/%6Detrics`),
 * lower-cased (Express routes case-insensitively by default), runs of `/`
 * collapsed, `.` and `..` segments resolved, `;params` and trailing `/`
 * dropped (Express' non-strict routing).
 */
export function normalizePath(path: string): string {
  let decoded = path;
  // Decoded until stable (a double-encoded `%256D` is `%6D`, then `m`), at most a few rounds.
  for (let i = 0; i < 3; i++) {
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      break;
    }
    if (next === decoded) break;
    decoded = next;
  }
  // Dot segments resolved (RFC 3986 §5.2.4): a backend that resolves them (`new URL(req.url, base)`, static file
  // servers) routes `/./metrics` and `/x/../metrics` to `/metrics`; clients that play fair never send them.
  const segments: string[] = [];
  // A backslash is a slash to a WHATWG URL parser: `new URL` reads `/x\..\metrics` as `/metrics`.
  for (const raw of decoded.toLowerCase().replace(/\\/g, '/').split('/')) {
    // `;params` dropped from every segment (`/x;a/../metrics` is `/metrics` too).
    const semicolon = raw.indexOf(';');
    const segment = semicolon === -1 ? raw : raw.slice(0, semicolon);
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join('/')}`;
}

/** A request target split into path and query; absolute-form (`http://h/p?q`) reduced to its path. */
function splitTarget(target: string): { path: string; query: string | undefined } {
  let rest = target;
  if (!rest.startsWith('/')) {
    try {
      const url = new URL(rest);
      rest = `${url.pathname}${url.search}`;
    } catch {
      return { path: rest, query: undefined };
    }
  }
  const hash = rest.indexOf('#');
  if (hash !== -1) rest = rest.slice(0, hash);
  const at = rest.indexOf('?');
  return at === -1 ? { path: rest, query: undefined } : { path: rest.slice(0, at), query: rest.slice(at + 1) };
}

/** A check of request targets against {@link ExposeSettings}: true when the router must answer 404 itself. */
export function createExposeFilter(settings: ExposeSettings): (target: string) => boolean {
  const metrics = new Set(settings.metricsPaths.map(normalizePath));
  const probes = new Set(settings.probePaths.map(normalizePath));
  return (target) => {
    if (settings.metrics && settings.probeDetails) return false;
    const { path, query } = splitTarget(target);
    const normalized = normalizePath(path);
    if (!settings.metrics && metrics.has(normalized)) return true;
    return !settings.probeDetails && query !== undefined && probes.has(normalized);
  };
}
