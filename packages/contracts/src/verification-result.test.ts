// The report below is what pact_ffi (via pact-core 20.2) returned for a real
// failed verification in verify-provider.test.ts, trimmed of its console output.
import { describe, expect, it } from 'vitest';
import { buildResult, parseVerifierReport } from './verification-result.js';

const mismatch = {
  interactionId: '',
  mismatches: [{ actual: '["amount","id"]', expected: '["id","total"]', mismatch: 'Actual map is missing the following keys: total', path: '$', type: 'BodyMismatch' }],
  type: 'mismatches',
};
const KEY = 'Verifying a pact between orders-web and orders-provider Given order exists - a request for an order';
const report = {
  errors: [{ interaction: KEY, mismatch }],
  interactionResults: [
    { consumer: 'orders-web', description: 'a listing', pending: false, providerStates: [], result: 'OK' },
    { consumer: 'orders-web', description: 'a request for an order', mismatch, pending: false, providerStates: ['order exists'], result: 'Error' },
  ],
  pendingErrors: [],
  result: false,
};

describe('buildResult', () => {
  it('gives an outcome per interaction with the mismatch in words', () => {
    const result = buildResult({ report: parseVerifierReport(JSON.stringify(report)), interactions: undefined, stateFailures: [], crashed: undefined });
    expect(result.passed).toBe(false);
    expect(result.interactions.map((o) => [o.consumer, o.description, o.status])).toEqual([
      ['orders-web', 'a listing', 'passed'],
      ['orders-web', 'a request for an order', 'failed'],
    ]);
    expect(result.summary).toContain('BodyMismatch at $: Actual map is missing the following keys: total');
  });

  it('matches the errors to local interactions when the report has no per-interaction results', () => {
    const { interactionResults: _, ...older } = report;
    const result = buildResult({
      report: parseVerifierReport(JSON.stringify(older)),
      interactions: [
        { consumer: 'orders-web', description: 'a listing', states: [] },
        { consumer: 'orders-web', description: 'a request for an order', states: ['order exists'] },
      ],
      stateFailures: [{ state: 'order exists', action: 'teardown', reason: 'teardown threw: boom' }],
      crashed: undefined,
    });
    expect(result.interactions.map((o) => o.status)).toEqual(['passed', 'failed']);
    expect(result.interactions[1]?.failures).toEqual(['provider state "order exists": teardown threw: boom', 'BodyMismatch at $: Actual map is missing the following keys: total']);
  });

  it('does not fail the run for a pending pact', () => {
    const pending = { ...report, result: true, interactionResults: report.interactionResults.map((i) => ({ ...i, pending: true })) };
    const result = buildResult({ report: parseVerifierReport(JSON.stringify(pending)), interactions: undefined, stateFailures: [], crashed: undefined });
    expect(result.passed).toBe(true);
    expect(result.interactions[1]).toMatchObject({ status: 'failed', pending: true });
  });

  it('says so when the verifier could not run', () => {
    const result = buildResult({ report: parseVerifierReport(''), interactions: undefined, stateFailures: [], crashed: 'Verification was unable to run' });
    expect(result.passed).toBe(false);
    expect(result.summary).toBe('Verification could not run: Verification was unable to run');
  });
});
