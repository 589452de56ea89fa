/** The logging Baton needs; pino, console wrappers and Fastify's logger fit with a line of glue. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Logs nothing: the default of the library, so importing Baton never writes to your output. */
export const silentLogger: Logger = {
  info() {},
  warn() {},
  error() {},
};

/**
 * One JSON line per entry on stderr (stdout stays the app's). The default of
 * `serve()`, the runner, so an operator sees every phase of a shutdown.
 */
export function jsonLogger(options: { write?: (line: string) => void; name?: string } = {}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const name = options.name ?? 'baton';
  const log =
    (level: string) =>
    (message: string, fields?: Record<string, unknown>): void => {
      write(`${JSON.stringify({ time: new Date().toISOString(), level, name, msg: message, ...fields })}\n`);
    };
  return { info: log('info'), warn: log('warn'), error: log('error') };
}
