/**
 * Console page: collectors, tool tabs with options, live capture, save as snapshot.
 *
 * Stable data-testids for the e2e suite:
 *   collector-status, tool-<name> (tool-profile, tool-offcputime, tool-wakeuptime, tool-offwaketime,
 *   tool-biolatency), start-capture, stop-capture, capture-progress, save-snapshot, snapshot-name,
 *   snapshot-link, search-input, search-match, reset-zoom, orientation-toggle, top-functions,
 *   import-input (file input on /snapshots), import-error, snapshot-total, compare-normalize,
 *   compare-direction, and from the renderers: flamegraph, subsecond-heatmap, latency-heatmap
 *   (each with data-state="ready" once drawn).
 * More: capture-error, capture-loss, capture-count, snapshot-notes, save-error, pid-input,
 *   pid-filter, pid-option, duration-input, frequency-input, stacks-select, min-block-input,
 *   max-block-input, per-disk, per-flag, latency-key, latency-histogram, selected-range,
 *   clear-range, top-sort-<name|self|total>, snapshot-row, snapshot-search, delete-snapshot,
 *   confirm-delete, import-dropzone, import-result, snapshot-meta, export-<format>,
 *   compare-picker, compare-go, compare-only-base, compare-only-target, compare-delta-table,
 *   capture-summary and new-capture (while a capture is shown the options collapse into
 *   capture-summary; new-capture brings back the form with start-capture).
 */
import type { Metadata } from 'next';
import { Console } from '@/components/capture/Console';

export const metadata: Metadata = { title: 'Console' };

export default function ConsolePage() {
  return <Console />;
}
