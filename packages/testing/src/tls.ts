// Test-only TLS helpers: a throwaway self-signed certificate made at test
// time by the machine's openssl (no key is ever committed), and a client.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request, type Agent, type RequestOptions } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWholeResponse } from './index.js';

/** A key and certificate for 127.0.0.1 / localhost, valid one day. */
export interface TestCertificate {
  key: string;
  cert: string;
}

/** Generates a fresh self-signed certificate with `openssl req -x509` (a few tens of ms). */
export function makeTestCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'baton-tls-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One HTTPS request trusting `ca`; resolves with the whole response, rejects with the socket error's code. */
export function fetchTls(
  url: string,
  ca: string,
  options: { agent?: Agent | false } = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const requestOptions: RequestOptions = { ca, agent: options.agent ?? false };
    const req = request(url, requestOptions, (res) => readWholeResponse(res).then(resolve, reject));
    req.on('error', reject);
    req.end();
  });
}
