import { describe, expect, it } from 'vitest';
import { createRedactor, isSecretEnvName, REDACTED, redactEnv, redactUrlPasswords, secretValuesOf } from './secrets.js';

describe('isSecretEnvName', () => {
  it('knows the usual secret names, in any case and style', () => {
    for (const name of ['DB_PASSWORD', 'PGPASSWORD', 'MYSQL_PASSWD', 'JWT_SECRET', 'AWS_SECRET_ACCESS_KEY', 'GITHUB_TOKEN', 'BATON_METRICS_TOKEN', 'GOOGLE_APPLICATION_CREDENTIALS', 'STRIPE_API_KEY', 'API_KEYS', 'apiKey', 'signingKey', 'BASIC_AUTH', 'npm_config__auth', 'REDIS_PASS', 'SENTRY_DSN', 'APIKEY', 'PRIVATEKEY', 'privateKey']) {
      expect(isSecretEnvName(name), name).toBe(true);
    }
  });

  it('leaves names that only look alike', () => {
    for (const name of ['KEYBOARD_LAYOUT', 'AUTHOR', 'AUTH_MODE', 'SSH_AUTH_SOCK', 'AWS_ACCESS_KEY_ID', 'PASSENGER_COUNT', 'PWD', 'MONKEY', 'DATABASE_URL', 'PORT', 'HOST', 'RELEASE', 'BATON_INSTANCE', 'NODE_ENV', 'KEY_ID']) {
      expect(isSecretEnvName(name), name).toBe(false);
    }
  });
});

describe('redactUrlPasswords', () => {
  it('redacts the password of every URL in a text and keeps the rest readable', () => {
    expect(redactUrlPasswords('connecting to postgres://app:s3cr%40t@db.internal:5432/orders failed')).toBe(`connecting to postgres://app:${REDACTED}@db.internal:5432/orders failed`);
    expect(redactUrlPasswords('amqp://u:p@mq/ and redis://:only-password@cache:6379')).toBe(`amqp://u:${REDACTED}@mq/ and redis://:${REDACTED}@cache:6379`);
    // A user name alone is no secret; host and port stay.
    expect(redactUrlPasswords('postgres://postgres@127.0.0.1:5432/postgres http://example.com:8080/x')).toBe('postgres://postgres@127.0.0.1:5432/postgres http://example.com:8080/x');
  });
});

describe('redactEnv', () => {
  it('redacts secret keys, keys the config marks, and URL passwords', () => {
    expect(redactEnv({ DB_PASSWORD: 'hunter22', MY_VAR: 'marked-value', DATABASE_URL: 'postgres://app:pw-1234@db/orders', NODE_ENV: 'production' }, ['MY_VAR'])).toEqual({
      DB_PASSWORD: REDACTED,
      MY_VAR: REDACTED,
      DATABASE_URL: `postgres://app:${REDACTED}@db/orders`,
      NODE_ENV: 'production',
    });
  });
});

describe('createRedactor', () => {
  const values = secretValuesOf(
    { env: { API_TOKEN: 'tok-123456', MY_VAR: 'marked-value', DATABASE_URL: 'postgres://app:p%40ss-word@db/orders', NODE_ENV: 'production', AUTH: 'x' }, secretEnv: ['MY_VAR', 'INHERITED_MARKED'] },
    { INHERITED_MARKED: 'from-the-orchestrator', CI_JOB_TOKEN: 'ci-token-999', HOME: '/root' },
  );

  it('scrubs the release\'s and the inherited secrets from free text, decoded URL passwords included', () => {
    const redactor = createRedactor(values);
    const text = redactor.text('env: tok-123456 marked-value from-the-orchestrator ci-token-999 p@ss-word production /root');
    expect(text).toBe(`env: ${REDACTED} ${REDACTED} ${REDACTED} ${REDACTED} ${REDACTED} production /root`);
    // Too short to scrub from text without mangling it (AUTH=x): left alone.
    expect(redactor.text('x marks the spot')).toBe('x marks the spot');
  });

  it('scrubs every string of JSON-able data, and values under secret keys whole', () => {
    const redactor = createRedactor(values);
    expect(redactor.value({ reason: 'printed tok-123456', nested: [{ password: 'short' }, 3, null], id: 'v2-1' })).toEqual({
      reason: `printed ${REDACTED}`,
      nested: [{ password: REDACTED }, 3, null],
      id: 'v2-1',
    });
    expect(redactor.with(['added-later-secret']).text('added-later-secret tok-123456')).toBe(`${REDACTED} ${REDACTED}`);
  });
});

describe('what a user would hit (review)', () => {
  it('knows MySQL\'s MYSQL_PWD, *_PWD, passphrases and authorization headers kept in the environment', () => {
    for (const name of ['MYSQL_PWD', 'DB_PWD', 'SSH_PASSPHRASE', 'GPG_PASSPHRASE', 'HTTP_AUTHORIZATION', 'PROXY_AUTHORIZATION']) {
      expect(isSecretEnvName(name), name).toBe(true);
    }
    // The shell's own directories are not passwords.
    for (const name of ['PWD', 'OLDPWD']) expect(isSecretEnvName(name), name).toBe(false);
  });

  it('takes names of files and directories that hold secrets for what they are: paths (the Docker *_FILE convention)', () => {
    for (const name of ['POSTGRES_PASSWORD_FILE', 'API_KEY_PATH', 'SECRETS_DIR', 'TLS_KEY_FILE']) {
      expect(isSecretEnvName(name), name).toBe(false);
    }
    const redactor = createRedactor(secretValuesOf({ env: { POSTGRES_PASSWORD_FILE: '/run/secrets/db-password' } }));
    expect(redactor.text('cannot read /run/secrets/db-password')).toBe('cannot read /run/secrets/db-password');
  });

  it('finds passwords and keys inside connection strings and query strings whatever the variable is called', () => {
    const values = secretValuesOf({
      env: {
        JDBC_URL: 'jdbc:postgresql://db:5432/app?user=app&password=jdbc-pw-123&ssl=true',
        AZURE_STORAGE_CONNECTION_STRING: 'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=azKey/abc+def==;EndpointSuffix=core.windows.net',
        MSSQL: 'Server=db;User Id=sa;Pwd=Mssql-pw-9;Database=orders',
        WEBHOOK: 'https://hooks.example.com/send?token=hook-token-42',
      },
    });
    const text = createRedactor(values).text('tried jdbc-pw-123, azKey/abc+def==, Mssql-pw-9 and hook-token-42');
    expect(text).toBe(`tried ${REDACTED}, ${REDACTED}, ${REDACTED} and ${REDACTED}`);
  });

  it('redacts password= and token= parameters and authorization headers in free text it was never told about', () => {
    const redactor = createRedactor();
    expect(redactor.text('connect jdbc:postgresql://db/app?user=app&password=unknown-pw&ssl=true failed')).toBe(`connect jdbc:postgresql://db/app?user=app&password=${REDACTED}&ssl=true failed`);
    expect(redactor.text('Server=db;User Id=sa;Password=Unknown-9;Database=orders')).toBe(`Server=db;User Id=sa;Password=${REDACTED};Database=orders`);
    expect(redactor.text('GET /x?access_token=abc123def&page=2')).toBe(`GET /x?access_token=${REDACTED}&page=2`);
    expect(redactor.text('request headers: authorization: Bearer eyJhbGciOi.eyJzdWIi.sig, accept: */*')).toBe(`request headers: authorization: Bearer ${REDACTED}, accept: */*`);
    expect(redactor.text('{"Authorization":"Basic YXBwOnB3"}')).toBe(`{"Authorization":"Basic ${REDACTED}"}`);
    // A command line, as a failed start quotes it.
    expect(redactor.text('instance v2-1 (node server.js --db-password=hunter-22 --port=8080) exited')).toBe(`instance v2-1 (node server.js --db-password=${REDACTED} --port=8080) exited`);
    // Prose stays prose, and a cache key is no key.
    expect(redactor.text('miss for cache key=orders:42')).toBe('miss for cache key=orders:42');
    expect(redactor.text('uses basic authorization; the token was refused; password authentication failed for user "app"')).toBe(
      'uses basic authorization; the token was refused; password authentication failed for user "app"',
    );
  });

  it('does not scrub flags and small numbers that a secret-sounding name happens to hold (they would mangle ports, durations and every "true")', () => {
    const redactor = createRedactor(secretValuesOf({ env: { TOKEN_TTL_SECONDS: '3600', REDIS_AUTH: 'true', DB_PASSWORD: 'hunter2-real' } }));
    expect(redactor.text('v2-1 started on port 43600; ready: true; hunter2-real')).toBe(`v2-1 started on port 43600; ready: true; ${REDACTED}`);
    // Marked by the config: scrubbed whatever it looks like.
    expect(createRedactor(secretValuesOf({ env: { PIN: '918273' }, secretEnv: ['PIN'] })).text('pin 918273')).toBe(`pin ${REDACTED}`);
  });
});
