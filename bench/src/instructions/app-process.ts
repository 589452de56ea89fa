// The measured process: `node --expose-gc app-process.js <express|fastify>
// <variant>` serves one app (variants.ts) on 127.0.0.1, port 0, prints
// `{"port":N}`, then takes commands on stdin, one per line, answering each
// with one JSON line on stdout:
//
//   mark   a batch boundary (batch-marker.ts) → {"collections":[...]}, the
//          collections that ran in the batch that ended (by V8's names)
//   end    exits (callgrind writes its last dump)
//
// It exits when its stdin closes, so a killed benchmark leaves nothing behind.
import { BatchMarker } from './batch-marker.js';
import { serveExpressVariant } from './express-variants.js';
import { serveFastifyVariant } from './fastify-variants.js';
import { VARIANTS, type VariantId } from './variants.js';

const [framework, variant] = process.argv.slice(2);
if ((framework !== 'express' && framework !== 'fastify') || !(VARIANTS as readonly string[]).includes(variant ?? '')) {
  throw new Error(`usage: app-process.js express|fastify <variant> (variants: ${VARIANTS.join(', ')}); got ${process.argv.slice(2).join(' ')}`);
}
const marker = new BatchMarker();
const port = framework === 'express' ? await serveExpressVariant(variant as VariantId) : await serveFastifyVariant(variant as VariantId);

let pending = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  pending += chunk;
  let newline = pending.indexOf('\n');
  while (newline >= 0) {
    const command = pending.slice(0, newline).trim();
    pending = pending.slice(newline + 1);
    if (command === 'mark') process.stdout.write(`${JSON.stringify({ collections: marker.boundary() })}\n`);
    else if (command === 'end') process.exit(0);
    else process.stdout.write(`${JSON.stringify({ error: `unknown command ${JSON.stringify(command)}` })}\n`);
    newline = pending.indexOf('\n');
  }
});
process.stdin.once('end', () => process.exit(0));
process.stdout.write(`${JSON.stringify({ port })}\n`);
