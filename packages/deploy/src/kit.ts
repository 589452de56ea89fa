/**
 * Building blocks for router and platform packages (`@baton/deploy/kit`):
 * the state-directory rules every implementation must keep (private files,
 * atomic writes), process identity for finding a router or instance again
 * after a restart, and the listening-line protocol. Services never need it.
 */
export { writeFileAtomic } from './internal/atomic-file.js';
export { ensurePrivateDir, ensurePrivateDirSync, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, type OwnEntries } from './internal/private-dir.js';
export { isProcessAlive, processEnvironment, processStartIdentity } from './internal/process-identity.js';
export { fileSize, logSince } from './internal/log-tail.js';
export { findFreePort } from './internal/free-port.js';
export { lastListeningPort, parseListeningPort, LISTENING_LINE_EXAMPLE } from './platforms/listening-line.js';
export { createRedactor, secretValuesOf, type Redactor } from './secrets.js';
export { recordedRouterUrl } from './internal/router-record.js';
