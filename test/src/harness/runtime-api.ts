/**
 * The harness drives HAProxy through @baton/deploy's Runtime API client, the
 * one the HAProxy router uses: one client, tested in both places. One
 * connection per command (HAProxy answers and closes); a refused command
 * rejects with HAProxy's answer in the message (BATON_ERR_ROUTER).
 */
export { HaproxyRuntimeApi as RuntimeApi, type ServerState, type ServerStateRow, type StatRow } from '@baton/router-haproxy';
