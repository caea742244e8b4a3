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
 *   capture-summary; new-capture brings back the form with start-capture), no-stacks (empty
 *   result), compare-open, compare-selected, delete-error, snapshot-title, snapshot-loss,
 *   compare-hist-base / compare-hist-target / compare-hist-diff (biolatency compare).
 * Attributes: top-functions has data-state="loading|ready" (computed after the flame graph
 *   paints); snapshot-total has data-value (the raw total); capture-progress has data-phase;
 *   collector-status has data-state="loading|error|ready" and each host row data-healthy.
 */
import type { Metadata } from 'next';
import { Console } from '@/components/capture/Console';
import { SignIn } from '@/components/SignIn';
import { pageCanRead } from '@/server/page-access';

export const metadata: Metadata = { title: 'Console' };

export default async function ConsolePage() {
  if (!(await pageCanRead())) return <SignIn />;
  return <Console />;
}
