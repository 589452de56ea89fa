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
const SECRET_PARTS = ['PASSWORD', 'PASSWD', 'PASSPHRASE', 'SECRET', 'TOKEN', 'CREDENTIAL'];
/**
 * As the name's last word only: `API_KEY`, `BASIC_AUTH`, `DB_PASS`,
 * `MYSQL_PWD`, `SENTRY_DSN`, `HTTP_AUTHORIZATION` are secrets, while
 * `KEYBOARD_LAYOUT`, `AUTH_MODE`, `SSH_AUTH_SOCK`, `AWS_ACCESS_KEY_ID` or
 * `PASSENGER_COUNT` are not.
 */
const SECRET_LAST_WORDS = /^(?:KEY|KEYS|AUTH|AUTHORIZATION|PASS|DSN|APIKEY|(?:ACCESS|PRIVATE|SIGNING|ENCRYPTION|MASTER|LICENSE)KEYS?)$/;
/**
 * A last word that makes the value a path, whatever came before:
 * `POSTGRES_PASSWORD_FILE=/run/secrets/db` (the Docker convention),
 * `API_KEY_PATH`, `SECRETS_DIR`. Scrubbing those would turn the path into
 * `[redacted]` in every message that names the file, and hide nothing.
 */
const PATH_LAST_WORDS = /^(?:FILE|PATH|DIR)$/;

/**
 * True when an environment variable's name says its value is a secret:
 * it contains PASSWORD, PASSWD, PASSPHRASE, SECRET, TOKEN or CREDENTIAL, or
 * its last word (words split at `_`, `-`, `.` and camelCase) is KEY(S), AUTH,
 * AUTHORIZATION, PASS, PWD (after another word: `MYSQL_PWD`; `PWD` alone is
 * the shell's working directory), DSN or APIKEY/ACCESSKEY/PRIVATEKEY/…:
 * `DB_PASSWORD`, `GITHUB_TOKEN`, `STRIPE_API_KEY`, `apiKey`, `BASIC_AUTH` are;
 * `KEYBOARD`, `AUTHOR`, `AUTH_MODE`, `PWD`, and names whose last word is
 * FILE, PATH or DIR (`POSTGRES_PASSWORD_FILE`: a path) are not. Keys the
 * config marks (`release.secretEnv`) are secrets whatever their name.
 */
export function isSecretEnvName(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toUpperCase()
    .split(/[_.-]+/)
    .filter((word) => word !== '');
  const last = words.at(-1);
  if (last === undefined) return false;
  if (words.length > 1 && PATH_LAST_WORDS.test(last)) return false;
  const upper = name.toUpperCase();
  if (SECRET_PARTS.some((part) => upper.includes(part))) return true;
  if (last === 'PWD') return words.length > 1;
  return SECRET_LAST_WORDS.test(last);
}

/** `scheme://user:password@` in free text; the password is group 2. */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*:)([^\s/?#@]+)(@)/gi;

/**
 * `key=value` in a query string (`?user=app&password=…&ssl=true`), a
 * connection string (`Server=db;Pwd=…;`), a command line
 * (`--db-password=…`, which a failed start quotes) or a log line (`DB_PASSWORD=…`);
 * the key is group 2, the value group 3. Secret when the key is
 * ({@link isSecretParamName}).
 */
const PARAM = /(^|[?&;,\s"'(]|--?)([A-Za-z][A-Za-z0-9_.-]*)=([^\s&;,"')]+)/g;
/** `"password": "…"` in JSON a service logs. */
const JSON_PARAM = /("([A-Za-z][A-Za-z0-9_.-]*)"\s*:\s*")((?:[^"\\]|\\.)*)(")/g;
/** `Authorization: Bearer …` / `"authorization":"Basic …"`: the scheme stays, the credentials go. */
const AUTHORIZATION = /((?:proxy-)?authorization["']?\s*[:=]\s*["']?)(?:(Bearer|Basic|Digest|Token|Negotiate|AWS4-HMAC-SHA256)\s+)?([^\s"',;]+)/gi;

/**
 * A key of a query or connection string whose value is a secret: a secret env
 * name, or ODBC's `PWD`/`PASS`; not a bare `key=` (`cache key=orders:42` in a
 * log line is no secret).
 */
function isSecretParamName(key: string): boolean {
  if (/^(?:pwd|pass)$/i.test(key)) return true;
  return isSecretEnvName(key) && !/^keys?$/i.test(key);
}

/** `text` with the password of every URL in it (`postgres://app:pw@db/orders`) replaced by {@link REDACTED}; a user name alone stays. */
export function redactUrlPasswords(text: string): string {
  return text.replace(URL_PASSWORD, `$1${REDACTED}$3`);
}

/**
 * `text` with every secret Baton can recognise without being told its value
 * replaced by {@link REDACTED}: URL passwords, secret `key=value` parameters
 * (`password=`, `Pwd=`, `AccountKey=`, `access_token=`, `DB_PASSWORD=`),
 * `"password": "…"` in JSON, and the credentials of `Authorization` headers.
 */
export function redactSecretPatterns(text: string): string {
  return redactUrlPasswords(text)
    .replace(AUTHORIZATION, (_match, head: string, scheme: string | undefined) => `${head}${scheme === undefined ? '' : `${scheme} `}${REDACTED}`)
    .replace(PARAM, (match, before: string, key: string) => (isSecretParamName(key) ? `${before}${key}=${REDACTED}` : match))
    .replace(JSON_PARAM, (match, head: string, key: string, value: string, tail: string) => (isSecretParamName(key) && !value.includes(REDACTED) && value !== '' ? `${head}${REDACTED}${tail}` : match));
}

/** The secret parameters of a connection or query string (`…;Password=pw;`, `?token=t`), as written and decoded. */
function paramSecrets(value: string): string[] {
  const found: string[] = [];
  for (const match of value.matchAll(PARAM)) {
    const [, , key, secret] = match;
    if (key === undefined || secret === undefined || !isSecretParamName(key)) continue;
    found.push(secret);
    try {
      found.push(decodeURIComponent(secret));
    } catch {
      // Kept as written.
    }
  }
  return found;
}

/**
 * A value a secret-sounding name may hold that is no secret, and that
 * scrubbed from free text would mangle it: a flag (`REDIS_AUTH=true`) or a
 * number of fewer than 8 digits (`TOKEN_TTL_SECONDS=3600` would turn port
 * 43600 into `4[redacted]`; a number that short is guessed anyway).
 */
function isPlainSetting(value: string): boolean {
  return /^\d{1,7}$/.test(value) || /^(?:true|false|yes|no|on|off|none|null|enabled|disabled|required|optional)$/i.test(value);
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
 * in `secretEnv`) replaced by {@link REDACTED}, and in the others what
 * {@link redactSecretPatterns} finds (the password of a URL value such as
 * `DATABASE_URL=postgres://app:pw@db/orders`, `password=` of a JDBC URL).
 */
export function redactEnv(env: Readonly<Record<string, string>>, secretEnv: readonly string[] = []): Record<string, string> {
  const marked = new Set(secretEnv);
  return Object.fromEntries(Object.entries(env).map(([name, value]) => [name, marked.has(name) || isSecretEnvName(name) ? REDACTED : redactSecretPatterns(value)]));
}

/**
 * The secret values an instance of `release` gets: the release's `env` and
 * the orchestrator's own environment (`inherited`, which instances inherit),
 * by name (except flags and numbers under 8 digits, see below) or by
 * `release.secretEnv`, plus the passwords of URL values and the secret
 * parameters of connection strings (`…;Password=pw;`, `?token=t`) under any
 * name. What a {@link Redactor} scrubs from text.
 */
export function secretValuesOf(release: Pick<ReleaseSpec, 'env' | 'secretEnv'> | undefined, inherited: Readonly<Record<string, string | undefined>> = {}): string[] {
  const marked = new Set(release?.secretEnv ?? []);
  const values: string[] = [];
  for (const env of [inherited, release?.env ?? {}]) {
    for (const [name, value] of Object.entries(env)) {
      if (typeof value !== 'string' || value === '') continue;
      // Marked by the config: a secret whatever it looks like. By its name only: unless it is a plain setting.
      if (marked.has(name) || (isSecretEnvName(name) && !isPlainSetting(value))) values.push(value);
      values.push(...urlPasswords(value), ...paramSecrets(value));
    }
  }
  return values;
}

/** Scrubs known secret values (and what {@link redactSecretPatterns} recognises) from what Baton writes or shows. */
export interface Redactor {
  /** `text` with every known secret value, then every {@link redactSecretPatterns} match, replaced by {@link REDACTED}. */
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
    return redactSecretPatterns(output);
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
