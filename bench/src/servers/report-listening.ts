import type { AddressInfo } from 'node:net';

/**
 * Tells the parent the server is up: one JSON line on stdout. Also ends this
 * process when the parent goes away (its end of our stdin closes), so a
 * crashed or killed benchmark never leaves a server behind.
 */
export function reportListening(address: AddressInfo | string | null): void {
  if (address === null || typeof address === 'string') {
    throw new Error(`expected a TCP address, got ${JSON.stringify(address)}`);
  }
  process.stdin.resume();
  process.stdin.once('end', () => process.exit(0));
  process.stdin.once('error', () => process.exit(0));
  process.stdout.write(`${JSON.stringify({ event: 'listening', port: address.port })}\n`);
}
