/**
 * @bpfscope/collector: the collector service (`bpfscope serve`) and the stack folding shared with
 * the CLI. The CLI itself lives in ./cli (entry: cli/main.ts).
 */
export {
  runServe,
  createCollectorServer,
  createEngine,
  loadEngine,
  createLogger,
  loadConfig,
  ConfigError,
  DEFAULT_LIMITS,
  SERVE_USAGE,
  COLLECTOR_VERSION,
  type CollectorServer,
  type CollectorServerDeps,
  type CaptureEngine,
  type CaptureSource,
  type ServerConfig,
  type ServerLimits,
  type SystemInfo,
} from './server/index.js';
export { foldRecord, foldedLine, type FoldFrame, type FoldOptions } from './fold.js';
