import { beforeAll, describe, expect, it } from 'vitest';
import { createMigrationChecker, type MigrationChecker } from './checker.js';
import type { CheckOptions } from './options.js';
import { RULES } from './rules.js';

// Every rule through the real PostgreSQL parser: SQL that must trigger it and
// SQL that must not. The tables below exist already (an earlier migration
// created them), as in a real history.
const SCHEMA = `
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, note varchar(20), amount numeric(10,2), placed_at timestamp, status text);
CREATE TABLE customers (id bigint PRIMARY KEY, email text);
CREATE TYPE order_state AS ENUM ('new', 'paid');
`;

const TIMEOUTS = ['lock-timeout', 'statement-timeout'];

let checkers: Map<string, MigrationChecker>;

async function checker(options: CheckOptions): Promise<MigrationChecker> {
  const key = JSON.stringify(options);
  let found = checkers.get(key);
  if (!found) checkers.set(key, (found = await createMigrationChecker(options)));
  return found;
}

/** The rule ids raised (not ignored) on the migration after the schema file. */
async function fired(sql: string, options: CheckOptions = {}): Promise<string[]> {
  const result = (await checker({ disabledRules: TIMEOUTS, ...options })).check([
    { file: '001_schema.sql', sql: SCHEMA },
    { file: '002_change.sql', sql },
  ]);
  return (result.files[1]?.findings ?? []).filter((f) => !f.ignored).map((f) => f.rule);
}

beforeAll(() => {
  checkers = new Map();
});

interface Case {
  rule: string;
  triggers: string[];
  passes: string[];
  options?: CheckOptions;
}

const CASES: Case[] = [
  {
    rule: 'drop-column',
    triggers: ['ALTER TABLE orders DROP COLUMN note;', 'ALTER TABLE public.orders DROP COLUMN IF EXISTS note CASCADE;'],
    passes: ['-- baton:contract unused-since=v7\nALTER TABLE orders DROP COLUMN note;', 'CREATE TABLE t (a int, b int); ALTER TABLE t DROP COLUMN b;'],
  },
  {
    rule: 'drop-table',
    triggers: ['DROP TABLE customers;', 'DROP TABLE IF EXISTS public.customers CASCADE;'],
    passes: ['-- baton:contract unused-since=v7\nDROP TABLE customers;', 'CREATE TABLE scratch (a int); DROP TABLE scratch;'],
  },
  {
    rule: 'rename-column',
    triggers: ['ALTER TABLE orders RENAME COLUMN note TO remark;', 'ALTER TABLE orders RENAME note TO remark;'],
    passes: ['CREATE TABLE t (a int); ALTER TABLE t RENAME COLUMN a TO b;', 'ALTER TABLE orders RENAME CONSTRAINT orders_pkey TO orders_pk;'],
  },
  {
    rule: 'rename-table',
    triggers: ['ALTER TABLE orders RENAME TO purchases;'],
    passes: ['CREATE TABLE t (a int); ALTER TABLE t RENAME TO u;', 'ALTER INDEX orders_pkey RENAME TO orders_pk;'],
  },
  {
    rule: 'add-column-not-null',
    triggers: ['ALTER TABLE orders ADD COLUMN currency text NOT NULL;', 'ALTER TABLE orders ADD COLUMN n int NOT NULL CHECK (n > 0);'],
    passes: [
      "ALTER TABLE orders ADD COLUMN currency text NOT NULL DEFAULT 'EUR';",
      'ALTER TABLE orders ADD COLUMN currency text;',
      'CREATE TABLE t (a int); ALTER TABLE t ADD COLUMN b int NOT NULL;',
    ],
  },
  {
    rule: 'set-not-null',
    triggers: [
      'ALTER TABLE orders ALTER COLUMN status SET NOT NULL;',
      // A NOT VALID check that was never validated does not help.
      'ALTER TABLE orders ADD CONSTRAINT status_nn CHECK (status IS NOT NULL) NOT VALID;\nCOMMIT;\nALTER TABLE orders ALTER COLUMN status SET NOT NULL;',
    ],
    passes: [
      'ALTER TABLE orders ADD CONSTRAINT status_nn CHECK (status IS NOT NULL) NOT VALID;\nCOMMIT;\nALTER TABLE orders VALIDATE CONSTRAINT status_nn;\nALTER TABLE orders ALTER COLUMN status SET NOT NULL;',
      'CREATE TABLE t (a int); ALTER TABLE t ALTER COLUMN a SET NOT NULL;',
    ],
  },
  {
    rule: 'column-type-change',
    triggers: [
      'ALTER TABLE orders ALTER COLUMN note TYPE varchar(10);',
      'ALTER TABLE orders ALTER COLUMN id TYPE int;',
      'ALTER TABLE orders ALTER COLUMN amount TYPE numeric(8,2);',
      'ALTER TABLE orders ALTER COLUMN status TYPE int USING status::int;',
      'ALTER TABLE customers ALTER COLUMN email TYPE varchar(100);',
    ],
    passes: [
      'ALTER TABLE orders ALTER COLUMN note TYPE varchar(200);',
      'ALTER TABLE orders ALTER COLUMN note TYPE text;',
      'ALTER TABLE orders ALTER COLUMN amount TYPE numeric(12,2);',
      'ALTER TABLE orders ALTER COLUMN amount TYPE numeric;',
    ],
  },
  {
    rule: 'volatile-default',
    triggers: [
      'ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();',
      'ALTER TABLE orders ADD COLUMN seen timestamptz DEFAULT clock_timestamp();',
      'ALTER TABLE orders ADD COLUMN r float8 DEFAULT random() * 10;',
    ],
    passes: [
      'ALTER TABLE orders ADD COLUMN created_at timestamptz DEFAULT now();',
      "ALTER TABLE orders ADD COLUMN currency text DEFAULT 'EUR';",
      'ALTER TABLE orders ALTER COLUMN status SET DEFAULT gen_random_uuid()::text;',
      'CREATE TABLE t (a int); ALTER TABLE t ADD COLUMN id uuid DEFAULT gen_random_uuid();',
    ],
  },
  {
    rule: 'generated-column',
    triggers: ['ALTER TABLE orders ADD COLUMN total numeric GENERATED ALWAYS AS (amount * 2) STORED;'],
    passes: ['CREATE TABLE t (a int, b int GENERATED ALWAYS AS (a * 2) STORED);', 'ALTER TABLE orders ADD COLUMN total numeric;'],
  },
  {
    rule: 'identity-column',
    triggers: ['ALTER TABLE customers ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY;', 'ALTER TABLE customers ADD COLUMN n int GENERATED BY DEFAULT AS IDENTITY;'],
    passes: ['CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY, a int);', 'ALTER TABLE customers ADD COLUMN n bigint;'],
  },
  {
    rule: 'serial-column',
    triggers: ['ALTER TABLE customers ADD COLUMN n bigserial;', 'ALTER TABLE customers ADD COLUMN n serial;'],
    passes: ['CREATE TABLE t (id bigserial PRIMARY KEY);', 'ALTER TABLE customers ADD COLUMN n bigint;'],
  },
  {
    rule: 'create-index-non-concurrent',
    triggers: ['CREATE INDEX orders_note ON orders (note);', 'CREATE UNIQUE INDEX customers_email ON customers (email);'],
    passes: ['-- baton:no-transaction\nCREATE INDEX CONCURRENTLY orders_note ON orders (note);', 'CREATE TABLE t (a int); CREATE INDEX t_a ON t (a);'],
  },
  {
    rule: 'concurrently-in-transaction',
    triggers: [
      'CREATE INDEX CONCURRENTLY orders_note ON orders (note);',
      'DROP INDEX CONCURRENTLY orders_note;',
      '-- baton:no-transaction\nBEGIN;\nCREATE INDEX CONCURRENTLY orders_note ON orders (note);\nCOMMIT;',
      'REINDEX (CONCURRENTLY) INDEX orders_pkey;',
    ],
    passes: [
      '-- baton:no-transaction\nCREATE INDEX CONCURRENTLY orders_note ON orders (note);',
      'COMMIT;\nCREATE INDEX CONCURRENTLY orders_note ON orders (note);',
    ],
  },
  {
    rule: 'drop-index-non-concurrent',
    triggers: ['DROP INDEX orders_note;', 'DROP INDEX IF EXISTS orders_note, orders_status;'],
    passes: ['-- baton:no-transaction\n-- baton:contract unused-since=v7\nDROP INDEX CONCURRENTLY orders_note;'],
  },
  {
    rule: 'constraint-not-valid',
    triggers: [
      'ALTER TABLE orders ADD CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id);',
      'ALTER TABLE orders ADD CONSTRAINT amount_positive CHECK (amount > 0);',
      'ALTER TABLE orders ADD COLUMN referrer_id bigint REFERENCES customers (id);',
    ],
    passes: [
      'ALTER TABLE orders ADD CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;',
      'ALTER TABLE orders ADD CONSTRAINT amount_positive CHECK (amount > 0) NOT VALID;',
      'CREATE TABLE t (a int CHECK (a > 0), c bigint REFERENCES customers (id));',
    ],
  },
  {
    rule: 'validate-in-same-transaction',
    triggers: [
      'ALTER TABLE orders ADD CONSTRAINT amount_positive CHECK (amount > 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT amount_positive;',
      '-- baton:no-transaction\nBEGIN;\nALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT fk;\nCOMMIT;',
    ],
    passes: [
      'ALTER TABLE orders ADD CONSTRAINT amount_positive CHECK (amount > 0) NOT VALID;\nCOMMIT;\nALTER TABLE orders VALIDATE CONSTRAINT amount_positive;',
      '-- baton:no-transaction\nALTER TABLE orders ADD CONSTRAINT amount_positive CHECK (amount > 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT amount_positive;',
    ],
  },
  {
    rule: 'unique-without-index',
    triggers: [
      'ALTER TABLE customers ADD CONSTRAINT customers_email UNIQUE (email);',
      'ALTER TABLE customers ADD COLUMN code text UNIQUE;',
      'CREATE TABLE t (a int); INSERT INTO t VALUES (1); COMMIT; ALTER TABLE customers ADD PRIMARY KEY (email);',
    ],
    passes: ['ALTER TABLE customers ADD CONSTRAINT customers_email UNIQUE USING INDEX customers_email_idx;', 'CREATE TABLE t (a int); ALTER TABLE t ADD PRIMARY KEY (a);'],
  },
  {
    rule: 'enum-value-rename',
    triggers: ["ALTER TYPE order_state RENAME VALUE 'paid' TO 'settled';"],
    passes: ["ALTER TYPE order_state ADD VALUE 'settled';", "ALTER TYPE order_state ADD VALUE IF NOT EXISTS 'refunded' AFTER 'paid';"],
  },
  {
    rule: 'enum-add-value-in-transaction',
    options: { targetVersion: 11 },
    triggers: ["ALTER TYPE order_state ADD VALUE 'settled';"],
    passes: ["-- baton:no-transaction\nALTER TYPE order_state ADD VALUE 'settled';", "COMMIT;\nALTER TYPE order_state ADD VALUE 'settled';"],
  },
  {
    rule: 'dml-in-migration',
    triggers: [
      "UPDATE orders SET status = 'new' WHERE status IS NULL;",
      'DELETE FROM orders WHERE amount IS NULL;',
      'INSERT INTO customers (id, email) SELECT customer_id, note FROM orders;',
      'MERGE INTO customers c USING orders o ON c.id = o.customer_id WHEN NOT MATCHED THEN INSERT (id) VALUES (o.customer_id);',
    ],
    passes: ["INSERT INTO customers (id, email) VALUES (1, 'ops@example.com');", 'SELECT 1;'],
  },
  {
    rule: 'lock-timeout',
    options: { disabledRules: ['statement-timeout'] },
    triggers: ['ALTER TABLE orders ADD COLUMN currency text;', "ALTER TABLE orders ADD COLUMN a text;\nSET lock_timeout = '2s';", "SET lock_timeout = 0;\nALTER TABLE orders ADD COLUMN currency text;"],
    passes: [
      "SET lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN currency text;",
      "SET LOCAL lock_timeout TO '1s';\nDROP INDEX orders_note;",
      'CREATE TABLE t (a int); CREATE INDEX t_a ON t (a);',
    ],
  },
  {
    rule: 'statement-timeout',
    options: { disabledRules: ['lock-timeout'] },
    triggers: ['ALTER TABLE orders ADD COLUMN currency text;', "SET statement_timeout = '0';\nALTER TABLE orders ADD COLUMN currency text;"],
    passes: ["SET statement_timeout = '5s';\nALTER TABLE orders ADD COLUMN currency text;", 'CREATE TABLE t (a int);'],
  },
];

describe('statement rules, through the real parser', () => {
  it('has a case for every statement rule', () => {
    const statementRules = RULES.filter((rule) => rule.check).map((rule) => rule.id);
    expect(CASES.map((c) => c.rule).sort()).toEqual([...statementRules].sort());
  });

  for (const { rule, triggers, passes, options } of CASES) {
    describe(rule, () => {
      for (const sql of triggers) {
        it(`triggers on: ${sql.replace(/\n/g, ' ')}`, async () => {
          expect(await fired(sql, options)).toContain(rule);
        });
      }
      for (const sql of passes) {
        it(`does not trigger on: ${sql.replace(/\n/g, ' ')}`, async () => {
          expect(await fired(sql, options)).not.toContain(rule);
        });
      }
    });
  }
});

describe('rules that depend on the PostgreSQL version', () => {
  it('any default on an added column rewrites the table before PostgreSQL 11', async () => {
    const sql = "ALTER TABLE orders ADD COLUMN currency text DEFAULT 'EUR';";
    expect(await fired(sql, { targetVersion: 10 })).toContain('volatile-default');
    expect(await fired(sql, { targetVersion: 11 })).not.toContain('volatile-default');
  });

  it('ADD VALUE inside a transaction fails only before PostgreSQL 12', async () => {
    expect(await fired("ALTER TYPE order_state ADD VALUE 'settled';", { targetVersion: 12 })).not.toContain('enum-add-value-in-transaction');
  });

  it('a validated CHECK lets SET NOT NULL skip its scan only from PostgreSQL 12', async () => {
    const sql = 'ALTER TABLE orders ADD CONSTRAINT s CHECK (status IS NOT NULL) NOT VALID;\nCOMMIT;\nALTER TABLE orders VALIDATE CONSTRAINT s;\nALTER TABLE orders ALTER status SET NOT NULL;';
    expect(await fired(sql, { targetVersion: 11 })).toContain('set-not-null');
    expect(await fired(sql, { targetVersion: 12 })).not.toContain('set-not-null');
  });

  it('timestamp to timestamptz is called out as a rewrite unless the session is UTC on 12+, a plain rewrite before', async () => {
    const checked = await checker({ disabledRules: TIMEOUTS, targetVersion: 12 });
    const result = checked.check([
      { file: '001.sql', sql: SCHEMA },
      { file: '002.sql', sql: 'ALTER TABLE orders ALTER placed_at TYPE timestamptz;' },
    ]);
    expect(result.files[1]?.findings[0]?.message).toMatch(/TimeZone is UTC/);
  });
});
