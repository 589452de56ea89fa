export { verifyProvider, type VerifyProviderOptions } from './verify-provider.js';
export { defineStates, type ProviderStates, type StateHandler, type StateHandlers, type StateParams } from './define-states.js';
export { type PactSource, type ConsumerVersionSelector, type LocalInteraction } from './pact-source.js';
export { type ServeTarget, type StartedServer } from './serve-target.js';
export { type VerificationResult, type InteractionOutcome } from './verification-result.js';
export { toJUnitXml, writeJUnitReport } from './junit-report.js';
export {
  writeVerificationRecord,
  readVerificationRecord,
  type VerificationRecord,
  type VerificationRecordMeta,
  type RecordedInteraction,
  type VerifiedPactSource,
} from './verification-record.js';
export { ciDefaults } from './ci-defaults.js';
export * from './can-i-deploy.js';
export { recordDeployment, type RecordDeploymentOptions, type RecordedDeployment } from './record-deployment.js';
export { pinApiVersion, type PinnedApiVersion, type HeaderBuilder } from './pin-api-version.js';
export { CONTRACTS_ERROR_CODES, type ContractsErrorCode } from './errors.js';
