'use client';
/** Drag-and-drop or file-picker import; the server's 400 text is shown in place. */
import { useState } from 'react';
import Link from 'next/link';
import { useSnapshots, useSnapshotsStore } from '../providers';

export function ImportDrop() {
  const store = useSnapshotsStore();
  const importing = useSnapshots((s) => s.importing);
  const error = useSnapshots((s) => s.importError);
  const imported = useSnapshots((s) => s.imported);
  const [over, setOver] = useState(false);

  async function take(files: FileList | null) {
    if (!files || files.length === 0) return;
    for (const f of Array.from(files)) {
      await store.getState().importFile(f);
      if (store.getState().importError) break;
    }
  }

  return (
    <section
      className={`dropzone${over ? ' over' : ''}`}
      data-testid="import-dropzone"
      onDragOver={(e) => {
        e.preventDefault();
        e.dataTransfer.dropEffect = 'copy';
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        void take(e.dataTransfer.files);
      }}
      aria-label="Import a profile"
    >
      <div>
        Drop a profile here to import it — folded stacks, <code>perf script</code> output (.gz too), pprof (.pb/.pb.gz), bpftrace map output, speedscope JSON or
        a bpfscope JSON export — or{' '}
        <label style={{ color: 'var(--link)', cursor: 'pointer', textDecoration: 'underline' }}>
          choose a file
          <input
            type="file"
            className="sr-only"
            data-testid="import-input"
            multiple
            onChange={(e) => {
              void take(e.target.files);
              e.target.value = '';
            }}
          />
        </label>
        .
      </div>
      {importing && <p className="small">Importing {importing}…</p>}
      {error && (
        <div className="error" role="alert" data-testid="import-error" style={{ marginTop: 8, textAlign: 'left' }}>
          {error}
        </div>
      )}
      {imported && !error && (
        <p className="small" data-testid="import-result">
          Imported {imported.fileName}: <Link href={imported.url}>open the snapshot</Link>
        </p>
      )}
    </section>
  );
}
