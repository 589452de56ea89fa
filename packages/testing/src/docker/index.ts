// The Docker test rig: the machine's engine, private engines that model other
// hosts, Node images built without a registry, and clean-up by label.
export { dockerUnavailable } from './docker-unavailable.js';
export { ensureDockerEngine, DEFAULT_DOCKER_SOCKET, DEFAULT_DOCKERD_LOG, type DockerEngineHandle } from './default-engine.js';
export { startDockerEngine, type PrivateDockerEngine, type StartDockerEngineOptions } from './private-engine.js';
export { buildNodeImage, imageId, NODE_IMAGE_COMMAND, type BuiltImage, type NodeImageOptions } from './node-image.js';
export { copyImage } from './copy-image.js';
export { removeContainersLabelled } from './containers-labelled.js';
export { startTestContainer, type TestContainer, type TestContainerOptions } from './test-container.js';
export { engineAnswers } from './engine-answers.js';
export { startTlsDockerEngine, type TlsDockerEngine } from './tls-engine.js';
export { startSshDockerEngine, startSshAgent, type SshDockerEngine, type SshAgent } from './ssh-engine.js';
