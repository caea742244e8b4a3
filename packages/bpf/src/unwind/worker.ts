/**
 * The unwind-table worker thread: generates tables (generate.ts) off the caller's event loop.
 * Messages: { id, kind: 'file', path, root? } | { id, kind: 'vdso', pid, procRoot? }
 * Replies:  { id, table } (rows transferred, not copied) | { id, error }
 */
import { parentPort } from 'node:worker_threads';
import { generateTable, generateVdsoTable } from './generate.js';

export type WorkerRequest =
  | { id: number; kind: 'file'; path: string; root?: string; debugDirs?: string[] }
  | { id: number; kind: 'vdso'; pid: number; procRoot?: string };

if (parentPort) {
  const port = parentPort;
  port.on('message', (m: WorkerRequest) => {
    try {
      const table = m.kind === 'vdso' ? generateVdsoTable(m.pid, m.procRoot) : generateTable(m.path, { root: m.root, debugDirs: m.debugDirs });
      // a fresh ArrayBuffer of exactly the rows: transfer it
      const rows = table.rows.byteOffset === 0 && table.rows.byteLength === table.rows.buffer.byteLength ? table.rows : table.rows.slice();
      port.postMessage({ id: m.id, table: { ...table, rows } }, [rows.buffer as ArrayBuffer]);
    } catch (e) {
      port.postMessage({ id: m.id, error: (e as Error)?.message ?? String(e) });
    }
  });
}
