'use client';
/**
 * The probe picker of the any-function tools: a text field for bcc's pattern (vfs_read, 'tcp_send*',
 * c:malloc, /path/to/bin:func, t:sched:sched_switch) that suggests, as you type, the kernel
 * functions, tracepoints or a binary's functions the collector knows (GET
 * /api/collectors/<id>/probes?q=…, answered from the collector's kallsyms, BTF and ELF symbols).
 * Names come from the traced host: rendered as text only.
 */
import { useEffect, useId, useState } from 'react';
import { useCapture } from '../providers';

export function ProbePicker({
  label,
  help,
  value,
  maxLength,
  onChange,
}: {
  label: string;
  help: string;
  value: string;
  maxLength: number;
  onChange: (v: string | undefined) => void;
}) {
  const collector = useCapture((s) => s.form.collector);
  const pid = useCapture((s) => s.form.pids[0]);
  const [matches, setMatches] = useState<string[]>([]);
  const [note, setNote] = useState<string | null>(null);
  const listId = useId();

  useEffect(() => {
    const q = value.trim();
    if (q.length < 2) {
      setMatches([]);
      setNote(null);
      return;
    }
    const ctl = new AbortController();
    // wait for a pause in typing; a newer query aborts the older request
    const t = setTimeout(async () => {
      try {
        const u = `/api/collectors/${encodeURIComponent(collector)}/probes?q=${encodeURIComponent(q)}${pid ? `&pid=${pid}` : ''}`;
        const r = await fetch(u, { signal: ctl.signal });
        const j = (await r.json()) as { matches?: string[]; total?: number; error?: string };
        if (!r.ok || j.error) {
          setMatches([]);
          setNote(j.error ?? `probe search failed (${r.status})`);
          return;
        }
        setMatches(j.matches ?? []);
        const total = j.total ?? 0;
        setNote(total === 0 ? 'nothing matches' : total > (j.matches?.length ?? 0) ? `${total} match; showing ${j.matches?.length}` : `${total} match`);
      } catch (e) {
        if ((e as Error).name !== 'AbortError') setNote(`probe search failed: ${(e as Error).message}`);
      }
    }, 200);
    return () => {
      clearTimeout(t);
      ctl.abort();
    };
  }, [value, collector, pid]);

  return (
    <label className="field" title={help}>
      <span>{label}</span>
      <input
        type="text"
        value={value}
        maxLength={maxLength}
        list={listId}
        placeholder="vfs_read, c:malloc, /path/to/bin:func, t:sched:sched_switch"
        spellCheck={false}
        autoComplete="off"
        onChange={(e) => onChange(e.target.value === '' ? undefined : e.target.value)}
        data-testid="option-pattern"
      />
      <datalist id={listId} data-testid="probe-suggestions">
        {matches.map((m) => (
          <option key={m} value={m} />
        ))}
      </datalist>
      {note && (
        <small className="hint" data-testid="probe-note">
          {note}
        </small>
      )}
    </label>
  );
}
