// The service this package's tests run in containers (bundled into an image by the
// Docker rig's buildNodeImage). What it does is picked by MODE:
// - serve (default): listens on PORT at HOST, prints Baton's listening line, answers
//   GET / with `RELEASE BATON_INSTANCE`, GET /has/NAME with whether NAME is in its
//   environment (never the value), and exits 0 soon after SIGTERM.
// - crash: prints every variable named in SHOUT (values included) and exits 3.
// - mute: prints a line and never listens.
import { createServer } from 'node:http';

const mode = process.env.MODE ?? 'serve';
if (mode === 'crash') {
  for (const name of (process.env.SHOUT ?? '').split(',').filter(Boolean)) console.error(`test service: ${name}=${process.env[name] ?? ''}`);
  console.error('test service: giving up');
  process.exit(3);
}
setInterval(() => {}, 1 << 30);
if (mode === 'mute') console.log('test service: warming up forever');
else {
  const server = createServer((req, res) => {
    const has = /^\/has\/([A-Za-z0-9_]+)$/.exec(req.url ?? '');
    if (has !== null) res.end(process.env[has[1] as string] === undefined ? 'no' : 'yes');
    else res.end(`${process.env.RELEASE} ${process.env.BATON_INSTANCE}`);
  });
  server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '0.0.0.0', () => {
    const address = server.address();
    console.log(JSON.stringify({ event: 'listening', port: typeof address === 'object' && address !== null ? address.port : 0 }));
  });
  process.on('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 100);
  });
}
