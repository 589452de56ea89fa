export { runCli, EXIT, type CliIo } from './run-cli.js';
export { loadConfigFile, CONFIG_NAMES } from './load-config.js';
export { createProgressRenderer, type Output } from './progress.js';
