export { runDemo, formatDemoSummary, type DemoOptions, type DemoPhase, type DemoResult } from './demo.js';
