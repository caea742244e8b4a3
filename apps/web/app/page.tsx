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
 */
export default function ConsolePage() {
  return (
    <div>
      <h1>Console</h1>
      <p className="muted">Loading…</p>
    </div>
  );
}
