import type { ReleaseSpec } from './model.js';

/** What a secret is replaced with wherever Baton shows or records it. */
export const REDACTED = '[redacted]';

/**
 * Free text is scrubbed only of secret values at least this long: shorter
 * ones (`AUTH=1`, `DB_PASS=x`) would turn every `1` or `x` of a message into
 * `[redacted]` while protecting nothing a guess would not find.
 */
export const MIN_SCRUBBED_LENGTH = 4;

/** Anywhere in a name: these leave no doubt. */
const SECRET_PARTS = ['PASSWORD', 'PASSWD', 'SECRET', 'TOKEN', 'CREDENTIAL'];
/**
 * As the name's last word only: `API_KEY`, `BASIC_AUTH`, `DB_PASS`,
 * `SENTRY_DSN` are secrets, while `KEYBOARD_LAYOUT`, `AUTH_MODE`,
 * `SSH_AUTH_SOCK`, `AWS_ACCESS_KEY_ID` or `PASSENGER_COUNT` are not.
 */
const SECRET_LAST_WORDS = /^(?:KEY|KEYS|AUTH|PASS|DSN|APIKEY|(?:ACCESS|PRIVATE|SIGNING|ENCRYPTION|MASTER|LICENSE)KEYS?)$/;

/**
 * True when an environment variable's name says its value is a secret:
 * it contains PASSWORD, PASSWD, SECRET, TOKEN or CREDENTIAL, or its last word
 * (words split at `_`, `-`, `.` and camelCase) is KEY(S), AUTH, PASS, DSN or
 * APIKEY/ACCESSKEY/PRIVATEKEY/SIGNINGKEY/…: `DB_PASSWORD`, `GITHUB_TOKEN`,
 * `STRIPE_API_KEY`, `apiKey`, `BASIC_AUTH` are; `KEYBOARD`, `AUTHOR`,
 * `AUTH_MODE`, `PWD` (the shell's working directory) are not. Keys the config
 * marks (`release.secretEnv`) are secrets whatever their name.
 */
export function isSecretEnvName(name: string): boolean {
  const upper = name.toUpperCase();
  if (SECRET_PARTS.some((part) => upper.includes(part))) return true;
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toUpperCase()
    .split(/[_.-]+/)
    .filter((word) => word !== '');
  const last = words.at(-1);
  return last !== undefined && SECRET_LAST_WORDS.test(last);
}

/** `scheme://user:password@` in free text; the password is group 2. */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*:)([^\s/?#@]+)(@)/gi;

/** `text` with the password of every URL in it (`postgres://app:pw@db/orders`) replaced by {@link REDACTED}; a user name alone stays. */
export function redactUrlPasswords(text: string): string {
  return text.replace(URL_PASSWORD, `$1${REDACTED}$3`);
}

/** The password of `value` when it is a URL with one (both as written and decoded), else nothing. */
function urlPasswords(value: string): string[] {
  if (!value.includes('://')) return [];
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [];
  }
  if (url.password === '') return [];
  let decoded = url.password;
  try {
    decoded = decodeURIComponent(url.password);
  } catch {
    // Kept as written.
  }
  return [...new Set([url.password, decoded])];
}

/**
 * `env` with the value of every secret key ({@link isSecretEnvName}, or named
 * in `secretEnv`) replaced by {@link REDACTED}, and the password of any URL
 * value (`DATABASE_URL=postgres://app:pw@db/orders`) redacted.
 */
export function redactEnv(env: Readonly<Record<string, string>>, secretEnv: readonly string[] = []): Record<string, string> {
  const marked = new Set(secretEnv);
  return Object.fromEntries(Object.entries(env).map(([name, value]) => [name, marked.has(name) || isSecretEnvName(name) ? REDACTED : redactUrlPasswords(value)]));
}

/**
 * The secret values an instance of `release` gets: the release's `env` and
 * the orchestrator's own environment (`inherited`, which instances inherit),
 * by name or by `release.secretEnv`, plus URL passwords. What a
 * {@link Redactor} scrubs from text.
 */
export function secretValuesOf(release: Pick<ReleaseSpec, 'env' | 'secretEnv'> | undefined, inherited: Readonly<Record<string, string | undefined>> = {}): string[] {
  const marked = new Set(release?.secretEnv ?? []);
  const values: string[] = [];
  for (const env of [inherited, release?.env ?? {}]) {
    for (const [name, value] of Object.entries(env)) {
      if (typeof value !== 'string' || value === '') continue;
      if (marked.has(name) || isSecretEnvName(name)) values.push(value);
      values.push(...urlPasswords(value));
    }
  }
  return values;
}

/** Scrubs known secret values (and URL passwords) from what Baton writes or shows. */
export interface Redactor {
  /** `text` with every known secret value and every URL password replaced by {@link REDACTED}. */
  text(text: string): string;
  /**
   * A copy of JSON-able `value` with {@link Redactor.text} applied to every
   * string, and the string value of any key that names a secret
   * ({@link isSecretEnvName}) replaced whole.
   */
  value<T>(value: T): T;
  /** A redactor that also knows `values`. */
  with(values: Iterable<string>): Redactor;
}

/**
 * A {@link Redactor} for `values` (e.g. from {@link secretValuesOf}).
 *
 * Hand-written rather than a library such as fast-redact: those redact
 * object paths known in advance, while the secrets here are values that can
 * turn up anywhere in free text (a service's last log lines in an error, a
 * stack trace).
 *
 * @example
 * const redactor = createRedactor(secretValuesOf(config.release, process.env));
 * console.error(redactor.text(error.message));
 */
export function createRedactor(values: Iterable<string> = []): Redactor {
  // Longest first: a URL holding a token is replaced whole before the token alone.
  const known = [...new Set([...values].filter((value) => typeof value === 'string' && value.length >= MIN_SCRUBBED_LENGTH))].sort((a, b) => b.length - a.length);
  const text = (input: string): string => {
    let output = input;
    for (const secret of known) if (output.includes(secret)) output = output.split(secret).join(REDACTED);
    return redactUrlPasswords(output);
  };
  const value = <T>(input: T): T => {
    const walk = (item: unknown): unknown => {
      if (typeof item === 'string') return text(item);
      if (Array.isArray(item)) return item.map(walk);
      if (item !== null && typeof item === 'object') {
        return Object.fromEntries(Object.entries(item).map(([key, inner]) => [key, typeof inner === 'string' && isSecretEnvName(key) ? REDACTED : walk(inner)]));
      }
      return item;
    };
    return walk(input) as T;
  };
  return { text, value, with: (more) => createRedactor([...known, ...more]) };
}
