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
