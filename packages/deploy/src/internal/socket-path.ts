/** A unix socket path longer than this does not fit in `sockaddr_un` on Linux (108 bytes with the NUL). */
export const MAX_SOCKET_PATH_BYTES = 107;

/**
 * Why `path` cannot be a unix socket's path (too long), or undefined when it
 * can. `what` names the socket, `shorten` what the user should shorten:
 * `the admin socket path … is longer than 107 bytes (a unix socket limit); use a shorter stateDir.`
 */
export function socketPathProblem(path: string, what: string, shorten: string): string | undefined {
  if (Buffer.byteLength(path) <= MAX_SOCKET_PATH_BYTES) return undefined;
  return `the ${what} path ${path} is longer than ${MAX_SOCKET_PATH_BYTES} bytes (a unix socket limit); use a shorter ${shorten}.`;
}
