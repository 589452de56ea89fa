/**
 * Building blocks for router and platform packages (`@baton/deploy/kit`):
 * the state-directory rules every implementation must keep (private files,
 * atomic writes), process identity for finding a router or instance again
 * after a restart, and the listening-line protocol; the executables, process
 * trees, socket paths, state files and backend input every router handles
 * alike. Services never need it.
 */
export { writeFileAtomic } from './internal/atomic-file.js';
export { ensurePrivateDir, ensurePrivateDirSync, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, type OwnEntries } from './internal/private-dir.js';
export { isProcessAlive, processEnvironment, processStartIdentity } from './internal/process-identity.js';
export { fileSize, logSince } from './internal/log-tail.js';
export { findFreePort } from './internal/free-port.js';
export { lastListeningPort, parseListeningPort, LISTENING_LINE_EXAMPLE } from './platforms/listening-line.js';
export { createRedactor, secretValuesOf, type Redactor } from './secrets.js';
export { recordedRouterUrl } from './internal/router-record.js';
export { findExecutable, runExecutable, SBIN_DIRS, type ExecutableResult } from './internal/executable.js';
export { childrenOf, waitForExit } from './internal/process-tree.js';
export { readPidFile } from './internal/pid-file.js';
export { MAX_SOCKET_PATH_BYTES, socketPathProblem } from './internal/socket-path.js';
export { readJsonFile } from './internal/json-file.js';
export { acceptsConnection } from './internal/accepts-connection.js';
export {
  checkBackendChanges,
  checkBackendInput,
  resolveBackendAddress,
  MAX_BACKEND_WEIGHT,
  type BackendChangeInput,
  type BackendInput,
} from './internal/backend-input.js';
