/**
 * @bpfscope/viz: the profile model, importers, exporters and operations (no DOM).
 * Renderers live in the `@bpfscope/viz/render` subpath, wire messages in `@bpfscope/viz/wire`.
 */
export * from './model/types.js';
export * from './model/kinds.js';
export * from './model/builder.js';
export * from './model/tree.js';
export * from './model/codec.js';
export * from './model/histogram.js';
export * from './import/index.js';
export * from './export/index.js';
export * from './ops/index.js';
