export { batonPlugin, type BatonPluginOptions, type BatonToggles, type FastifyProbeOptions } from './baton-plugin.js';
export { serveFastify, type FastifyServeOptions } from './serve-fastify.js';
