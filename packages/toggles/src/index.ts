export {
  defineToggles,
  fallbackFor,
  type ToggleKind,
  type PayloadKind,
  type PayloadTypes,
  type ToggleDefinition,
  type ToggleDefinitions,
  type PayloadOf,
  type RegisteredToggle,
  type ToggleRegistry,
} from './registry.js';
export { parseToggleFile, checkClientFeatures, type ToggleFile, type ClientFeature, type ClientSegment } from './toggle-file.js';
export { toggleSourceFromEnv, environmentOfToken, type ToggleSource, type DefaultsSource, type FileSource, type UnleashSource } from './toggle-source.js';
export {
  Toggles,
  createToggles,
  type TogglesOptions,
  type ReadinessOptions,
  type ToggleState,
  type ToggleStatus,
  type LoadedFrom,
  type ToggleContext,
  type EvaluationCount,
} from './toggles.js';
export type { ToggleVariant } from './internal/toggle-entry.js';
export { ToggleScope, requestScopeFactory, type RequestContextOptions, type RequestScopeFactory } from './request-toggles.js';
export { parseOverrideHeader, resolveOverridePolicy, DEFAULT_OVERRIDE_HEADER, type OverrideOptions, type OverrideValue, type OverridePolicy } from './override-header.js';
export type { Register, RegisteredDefinitions, RequestToggles, TogglesLike, TogglesOption } from './register.js';
export { registerToggleMetrics, TOGGLE_METRIC_NAMES, type CollectorHost } from './toggle-metrics.js';
export { TOGGLES_ERROR_CODES, type TogglesErrorCode } from './errors.js';
