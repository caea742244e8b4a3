/**
 * Number and unit formatting for labels, tables and the details line: the web's short names for
 * @bpfscope/viz's formatting (the one implementation, shared with the canvas renderers' tooltips)
 * and its log2 slot ranges.
 */
export {
  formatBytes as fmtBytes,
  formatDate as fmtDate,
  formatInt as fmtInt,
  formatMs as fmtMs,
  formatPercent as fmtPct,
  formatTime as fmtDurationUs,
  formatValue as fmtValue,
  slotRange,
} from '@bpfscope/viz';
