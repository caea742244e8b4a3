export { toFolded, foldedName, type FoldedExportOptions } from './folded.js';
export { toPprof, toPprofBytes, mappingNameForKind, type PprofExportOptions } from './pprof.js';
export { toSpeedscope, toSpeedscopeObject, type SpeedscopeExportOptions, type SpeedscopeFile } from './speedscope.js';
export { toSvg, toDiffSvg, treeToSvg, escapeXml, type SvgOptions, type SvgNodeStyle } from './svg.js';
export { toBpfscope, toBpfscopeObject } from './bpfscope.js';
