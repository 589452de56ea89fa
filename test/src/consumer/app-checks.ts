// What a user of the README's app notices when they run it: it starts and
// says where, the probes answer, /metrics counts requests by route and
// release, and SIGTERM during a slow request lets it finish, then exits 0.
import { fetchText, waitFor } from '@baton/testing';
import { startApp, type AppExit } from './app-process.js';

/** What one run of an app showed, for the assertions and their messages. */
export interface AppRun {
  probes: Record<string, number>;
  hello: number;
  /** `/metrics`: status and the `http_requests_total` line of GET /hello, when metrics are on. */
  metrics?: { status: number; helloLine: string | undefined };
  /** The startup line's fields. */
  listening: Record<string, unknown>;
  /** /readyz after SIGTERM, while the slow request is still in flight. */
  readyDuringDrain: number;
  slow: { status: number; body: string };
  exit: AppExit;
  output: string;
}

/** Runs `script` on `node` and goes through the checks; always stops the process. */
export async function runAppChecks(options: { node: string; cwd: string; script: string; metrics: boolean; release: string }): Promise<AppRun> {
  const app = await startApp({ node: options.node, cwd: options.cwd, script: options.script, env: { RELEASE: options.release } });
  try {
    const probes: Record<string, number> = {};
    for (const path of ['/livez', '/readyz', '/startupz']) probes[path] = (await fetchText(`${app.url}${path}`)).status;
    const hello = (await fetchText(`${app.url}/hello`)).status;
    let metrics: AppRun['metrics'];
    if (options.metrics) {
      const answer = await fetchText(`${app.url}/metrics`);
      const helloLine = answer.body.split('\n').find((line) => line.startsWith('http_requests_total{') && line.includes('route="/hello"'));
      metrics = { status: answer.status, helloLine };
    }

    // A slow request in flight, then SIGTERM: readiness fails at once, the request still completes.
    const slow = fetchText(`${app.url}/slow`);
    await app.waitForEvent('slow-request', 20_000);
    app.kill('SIGTERM');
    let readyDuringDrain = 0;
    await waitFor(
      async () => {
        readyDuringDrain = await fetchText(`${app.url}/readyz`).then(
          (answer) => answer.status,
          () => -1,
        );
        return readyDuringDrain !== 200;
      },
      10_000,
      '/readyz to fail after SIGTERM',
    );
    const slowAnswer = await slow;
    const exit = await app.exited;
    return {
      probes,
      hello,
      ...(metrics === undefined ? {} : { metrics }),
      listening: app.listening,
      readyDuringDrain,
      slow: { status: slowAnswer.status, body: slowAnswer.body },
      exit,
      output: app.output(),
    };
  } finally {
    await app.stop();
  }
}
