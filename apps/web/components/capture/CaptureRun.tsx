'use client';
/**
 * The running (or finished) capture: progress bar with elapsed/remaining time and counts, Stop
 * (keeps what was gathered), loss statistics, notices and errors, then "save as snapshot".
 */
import { useEffect, useState } from 'react';
import Link from 'next/link';
import { useCapture, useCaptureStore } from '../providers';
import { describeLoss } from '../../lib/live';
import { fmtInt, fmtMs } from '../../lib/format';
import { toolLabel } from '../../lib/tools';

function useTicker(active: boolean, ms = 250): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [active, ms]);
  return now;
}

function fmtSec(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function CaptureRun() {
  const store = useCaptureStore();
  const phase = useCapture((s) => s.phase);
  const tool = useCapture((s) => s.captureTool);
  const progress = useCapture((s) => s.progress);
  const progressAt = useCapture((s) => s.progressAt);
  const loss = useCapture((s) => s.loss);
  const error = useCapture((s) => s.error);
  const notices = useCapture((s) => s.notices);
  const endReason = useCapture((s) => s.endReason);
  const firstDataMs = useCapture((s) => s.firstDataMs);
  const running = phase === 'starting' || phase === 'running' || phase === 'stopping';
  const now = useTicker(running);

  if (phase === 'idle' && !error) return null;

  const durationMs = progress.durationMs || 0;
  // between deltas, advance the bar on the local clock from the last reported elapsed time
  // (not from the click: BPF load and attach take a moment); never past the duration
  const since = running && phase !== 'stopping' && progressAt !== null ? Math.max(0, now - progressAt) : 0;
  const elapsed = Math.min(durationMs || Infinity, progress.elapsedMs + since);
  const frac = durationMs > 0 ? Math.min(1, elapsed / durationMs) : 0;
  const lossLines = describeLoss(loss);
  const countLabel = tool === 'biolatency' ? 'I/O requests' : tool === 'profile' ? 'samples' : 'events';
  const count = tool === 'profile' ? progress.samples : progress.events || progress.samples;

  return (
    <section className="card stack-v" aria-label="Capture" data-phase={phase}>
      <div className="row">
        <strong>{tool ? toolLabel(tool) : 'Capture'}</strong>
        <span className="muted small">
          {phase === 'starting' && 'starting…'}
          {phase === 'running' && 'running'}
          {phase === 'stopping' && 'stopping…'}
          {phase === 'done' && (endReason === 'stopped' ? 'stopped early — data kept' : 'finished')}
          {phase === 'failed' && 'failed'}
        </span>
        <span className="grow" />
        {running && (
          <>
            <button
              type="button"
              className="btn"
              data-testid="stop-capture"
              disabled={phase !== 'running'}
              onClick={() => void store.getState().stop()}
              title="End now and keep what was gathered"
            >
              ■ Stop
            </button>
            <button type="button" className="btn small danger" onClick={() => void store.getState().cancel()} title="End now and discard">
              Cancel
            </button>
          </>
        )}
        {!running && (
          <button type="button" className="btn small" data-testid="new-capture" onClick={() => store.getState().clear()}>
            New capture
          </button>
        )}
      </div>
      {(running || phase === 'done') && (
        <div data-testid="capture-progress" data-phase={phase} role="group" aria-label="Capture progress">
          <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(frac * 100)}>
            <div style={{ width: `${(phase === 'done' ? 1 : frac) * 100}%` }} />
          </div>
          <div className="row small muted" style={{ marginTop: 4 }}>
            <span>
              {progressAt === null && running ? 'loading BPF programs…' : `${fmtSec(elapsed)} elapsed`}
              {running && durationMs > 0 ? ` · ${fmtSec(Math.max(0, durationMs - elapsed))} remaining` : ''}
            </span>
            <span data-testid="capture-count">
              {fmtInt(count)} {countLabel}
              {countLabel === 'events' && elapsed >= 1000
                ? ` (${fmtInt(Math.round(count / (Math.min(elapsed, progress.elapsedMs || elapsed) / 1000)))}/s)`
                : ''}
            </span>
            {progress.bpfNsPerRun !== undefined && (
              <span data-testid="capture-bpf-cost" title="What one run of the capture's BPF programs costs (the kernel's bpf_stats)">
                {fmtInt(progress.bpfNsPerRun)} ns per event in BPF
              </span>
            )}
            {firstDataMs !== null && <span title="From clicking Start to the first data on screen">first data after {fmtMs(firstDataMs)}</span>}
          </div>
        </div>
      )}
      {error && (
        <div className="error" role="alert" data-testid="capture-error">
          {error}
        </div>
      )}
      {lossLines.length > 0 && (
        <div className="warning small" data-testid="capture-loss">
          <strong>Some data was missed:</strong> {lossLines.join(' · ')}
        </div>
      )}
      {notices.length > 0 && (
        <ul className="small muted" style={{ margin: 0, paddingLeft: 18 }}>
          {notices.slice(-5).map((n, i) => (
            <li key={i}>{n}</li>
          ))}
        </ul>
      )}
      {(phase === 'done' || (phase === 'failed' && progress.samples + progress.events > 0)) && <SavePanel />}
    </section>
  );
}

function SavePanel() {
  const store = useCaptureStore();
  const save = useCapture((s) => s.save);
  const tool = useCapture((s) => s.captureTool);
  const [name, setName] = useState(() => `${toolLabel(tool ?? undefined)} ${new Date().toISOString().slice(0, 16).replace('T', ' ')}`);
  const [notes, setNotes] = useState('');
  if (save.state === 'saved' && save.url) {
    return (
      <div className="row">
        <span>Saved.</span>
        <Link href={save.url} data-testid="snapshot-link">
          {typeof window !== 'undefined' ? `${window.location.origin}${save.url}` : save.url}
        </Link>
      </div>
    );
  }
  return (
    <form
      className="row"
      onSubmit={(e) => {
        e.preventDefault();
        void store.getState().saveSnapshot(name, notes);
      }}
    >
      <label className="field grow" style={{ minWidth: 200 }}>
        <span>Snapshot name</span>
        <input type="text" value={name} maxLength={200} onChange={(e) => setName(e.target.value)} data-testid="snapshot-name" required />
      </label>
      <label className="field grow" style={{ minWidth: 200 }}>
        <span>Notes</span>
        <input type="text" value={notes} maxLength={2000} onChange={(e) => setNotes(e.target.value)} data-testid="snapshot-notes" placeholder="optional" />
      </label>
      <button type="submit" className="btn primary" data-testid="save-snapshot" disabled={save.state === 'saving'} style={{ alignSelf: 'flex-end' }}>
        {save.state === 'saving' ? 'Saving…' : 'Save snapshot'}
      </button>
      {save.state === 'error' && (
        <div className="error small" style={{ flexBasis: '100%' }} data-testid="save-error">
          {save.error}
        </div>
      )}
    </form>
  );
}
