export {
  defineToggles,
  type ToggleKind,
  type PayloadKind,
  type PayloadTypes,
  type ToggleDefinition,
  type ToggleDefinitions,
  type PayloadOf,
  type RegisteredToggle,
  type ToggleRegistry,
} from './registry.js';
export { parseToggleFile, type ToggleFile, type ClientFeature } from './toggle-file.js';
