'use client';
/** Export links (folded, pprof, speedscope JSON, SVG, bpfscope JSON) served by the hub. */
import { exportUrl } from '../../lib/api';

const FORMATS = [
  { f: 'folded', label: 'Folded' },
  { f: 'pprof', label: 'pprof' },
  { f: 'speedscope', label: 'speedscope JSON' },
  { f: 'svg', label: 'SVG' },
  { f: 'json', label: 'bpfscope JSON' },
] as const;

export function ExportButtons({ id, latency, publicToken }: { id: string; latency: boolean; publicToken?: string }) {
  return (
    <div className="row" style={{ gap: 6 }} role="group" aria-label="Export">
      <span className="small muted">Export:</span>
      {FORMATS.filter((x) => !latency || x.f === 'json' || x.f === 'folded').map(({ f, label }) => (
        <a
          key={f}
          className="btn small"
          href={`${exportUrl(id, f, publicToken)}${f === 'svg' ? '' : '&download=1'}`}
          data-testid={`export-${f}`}
          {...(f === 'svg' ? { target: '_blank', rel: 'noopener noreferrer' } : { download: '' })}
        >
          {label}
        </a>
      ))}
    </div>
  );
}
