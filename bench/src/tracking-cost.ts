// What Baton's request tracking adds per request, in nanoseconds: a real
// node:http Server (not listening) is handed real IncomingMessage /
// ServerResponse objects on one socket (keep-alive), with and without a
// lifecycle attached, and each response is finished and closed. A tight in-process loop, so it resolves the few hundred
// nanoseconds that load tests on a shared machine cannot.
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { createLifecycle } from '@baton/lifecycle';

/** Nanoseconds per request, bare and with `lifecycle.attach(server)`, medians over rounds. */
export interface TrackingCostResult {
  requestsPerRound: number;
  rounds: number;
  bareNs: number;
  trackedNs: number;
  addedNs: number;
}

function nsPerRequest(tracked: boolean, requests: number): number {
  const server = createServer(() => {});
  if (tracked) createLifecycle().attach(server);
  const socket = new Socket();
  server.emit('connection', socket);
  const started = process.hrtime.bigint();
  for (let i = 0; i < requests; i += 1) {
    const request = new IncomingMessage(socket);
    const response = new ServerResponse(request);
    server.emit('request', request, response);
    // Done, as after a real response: there is no connected socket to flush to
    // (so writableFinished never turns true); `destroyed` is the other state
    // Node counts as done. Then the 'close' every response emits.
    response.destroyed = true;
    response.emit('close');
  }
  const elapsed = Number(process.hrtime.bigint() - started) / requests;
  socket.destroy();
  return elapsed;
}

/** Runs the comparison, alternating bare and tracked rounds after a warm-up. */
export function runTrackingCost(options: { rounds?: number; requestsPerRound?: number } = {}): TrackingCostResult {
  const rounds = options.rounds ?? 15;
  const requests = options.requestsPerRound ?? 100_000;
  for (let i = 0; i < 3; i += 1) {
    nsPerRequest(false, requests);
    nsPerRequest(true, requests);
  }
  const bare: number[] = [];
  const tracked: number[] = [];
  const added: number[] = [];
  for (let i = 0; i < rounds; i += 1) {
    const b = nsPerRequest(false, requests);
    const t = nsPerRequest(true, requests);
    bare.push(b);
    tracked.push(t);
    added.push(t - b);
  }
  return { requestsPerRound: requests, rounds, bareNs: median(bare), trackedNs: median(tracked), addedNs: median(added) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
}
