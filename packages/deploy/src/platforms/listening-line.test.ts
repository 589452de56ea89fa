import { describe, expect, it } from 'vitest';
import { lastListeningPort, parseListeningPort } from './listening-line.js';

describe('parseListeningPort', () => {
  it("reads the startup line of Baton's JSON logger (serve(), baton(app).serve(), serveFastify()) as it is, extra fields and all", () => {
    const line = JSON.stringify({
      time: '2026-12-07T09:01:02.345Z',
      level: 'info',
      name: 'baton',
      msg: 'listening on http://127.0.0.1:4123',
      event: 'listening',
      port: 4123,
      url: 'http://127.0.0.1:4123',
      release: 'v2',
      probes: { liveness: '/livez', readiness: '/readyz', startup: '/startupz', port: 9464 },
    });
    expect(parseListeningPort(line)).toBe(4123);
    // As it arrives in the log: stderr shares the file with stdout, lines may end in \r\n.
    expect(parseListeningPort(`  ${line}\r`)).toBe(4123);
  });

  it('reads the bare line a service of one\'s own prints', () => {
    expect(parseListeningPort('{"event":"listening","port":8080}')).toBe(8080);
  });

  it('ignores other lines: other events, text, a nested port, a port that is not one', () => {
    expect(parseListeningPort('listening on port 3000')).toBeUndefined();
    expect(parseListeningPort('{"msg":"listening on http://127.0.0.1:3000","port":3000}')).toBeUndefined();
    expect(parseListeningPort('{"event":"stopped","port":3000}')).toBeUndefined();
    expect(parseListeningPort('{"event":"listening","probes":{"port":9464}}')).toBeUndefined();
    for (const port of [0, -1, 65536, 3000.5, '3000', null]) expect(parseListeningPort(JSON.stringify({ event: 'listening', port }))).toBeUndefined();
    expect(parseListeningPort('{"event":"listening","port":30')).toBeUndefined();
  });

  it('takes the last announced port of several lines', () => {
    expect(lastListeningPort(['starting', '{"event":"listening","port":4000}', 'noise', '{"event":"listening","port":4001}', '{"event":"ready"}'])).toBe(4001);
    expect(lastListeningPort(['starting'])).toBeUndefined();
  });
});
