import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findExecutable, run } from './processes.js';

/** PEM files of a TLS identity: the CA that vouches for it, its certificate and its key. */
export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

/** A certificate authority of a test's own, and what it signed. */
export interface TestCertificates {
  /** The engine's side: the CA its clients must be signed by, and its server certificate for 127.0.0.1 / localhost. */
  server: TlsFiles;
  /** A client the engine trusts (signed by the same CA, extendedKeyUsage clientAuth). */
  client: TlsFiles;
}

const DAYS = '2';

/**
 * Makes a CA, a server certificate for `127.0.0.1` and `localhost` (in the
 * subjectAltName: clients check the address they dialled against it, not the
 * CN) and a client certificate, all with `openssl` into `dir`. Keys are
 * P-256: quick to make and accepted by dockerd (Go) and Node alike.
 */
export async function makeTestCertificates(dir: string, prefix = ''): Promise<TestCertificates> {
  const openssl = findExecutable('openssl');
  if (openssl === undefined) throw new Error('openssl is not installed (apt-get install -y openssl)');
  const file = (name: string): string => join(dir, `${prefix}${name}`);

  const ca = file('ca.pem');
  const caKey = file('ca-key.pem');
  await run(openssl, [
    'req', '-x509', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-keyout', caKey, '-out', ca, '-days', DAYS, '-subj', `/CN=baton test CA ${prefix || 'engine'}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);

  const sign = async (name: string, subject: string, extensions: string): Promise<TlsFiles> => {
    const key = file(`${name}-key.pem`);
    const csr = file(`${name}.csr`);
    const cert = file(`${name}-cert.pem`);
    const ext = file(`${name}.ext`);
    writeFileSync(ext, extensions);
    await run(openssl, ['req', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-keyout', key, '-out', csr, '-subj', subject]);
    await run(openssl, ['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-set_serial', `0x${randomSerial()}`, '-days', DAYS, '-out', cert, '-extfile', ext]);
    return { ca, cert, key };
  };

  const server = await sign(
    'server',
    '/CN=localhost',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyAgreement\nbasicConstraints=CA:FALSE\n',
  );
  const client = await sign('client', '/CN=baton-deployer', 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyAgreement\nbasicConstraints=CA:FALSE\n');
  return { server, client };
}

function randomSerial(): string {
  return Array.from({ length: 16 }, () => Math.floor(Math.random() * 16).toString(16)).join('').replace(/^0/, '1');
}
