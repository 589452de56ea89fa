// A real Unleash server in a process of its own, so a test can kill it
// mid-run. Configuration comes as JSON in BATON_UNLEASH_CONFIG; once
// listening it prints one line: {"event":"listening","port":N}.
import { createServer } from 'node:net';
import { start } from 'unleash-server';

interface ChildConfig {
  db: { host: string; port: number; user: string; password: string; database: string; schema: string };
  adminToken: string;
  clientToken: string;
  port?: number;
}

const config = JSON.parse(process.env.BATON_UNLEASH_CONFIG ?? '{}') as ChildConfig;
const port = config.port ?? (await freePort());
const quiet = (): void => {};
const unleash = await start({
  db: { ...config.db, ssl: false },
  server: { port, host: '127.0.0.1' },
  authentication: {
    type: 'open-source',
    enableApiToken: true,
    createAdminUser: false,
    initApiTokens: [
      { environment: '*', project: '*', secret: config.adminToken, type: 'admin', tokenName: 'baton-admin' },
      { environment: 'development', project: '*', secret: config.clientToken, type: 'client', tokenName: 'baton-client' },
    ],
  },
  versionCheck: { enable: false },
  telemetry: false,
  getLogger: () => ({ debug: quiet, info: quiet, warn: quiet, fatal: quiet, error: (...args: unknown[]) => process.stderr.write(`unleash: ${args.map(String).join(' ')}\n`) }),
} as never);
process.stdout.write(`${JSON.stringify({ event: 'listening', port })}\n`);
process.on('SIGTERM', () => {
  void unleash.stop().finally(() => process.exit(0));
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port: free } = server.address() as { port: number };
      server.close(() => resolve(free));
    });
  });
}
