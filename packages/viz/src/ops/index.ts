export { merge } from './merge.js';
export { diff, type DiffOptions, type DiffResult } from './diff.js';
export { prune, pruneTree, pruneProfile, type PruneOptions } from './prune.js';
export {
  focus,
  exclude,
  collapseRecursion,
  mergeByFunction,
  invert,
  stripOffset,
  focusSubtree,
  callersOf,
  calleesOf,
  type FocusOptions,
  type FrameSelector,
} from './transform.js';
export { topFunctions, topFunctionsDiff, type FunctionRow, type DiffFunctionRow, type TopSort } from './top.js';
export { subsecondGrid, gridCellRange, selectRange, latencyGrid, type SubsecondGrid, type LatencyGrid } from './heatmap.js';
export { rebuildProfile, toRegExp } from './rebuild.js';
export { functionLines, type FunctionLines, type SourceLineRow } from './lines.js';
