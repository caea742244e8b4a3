'use client';
/** Tool tabs and each tool's options, with bcc's defaults; Start. */
import { OPTIONS, type OptionDef, type OptionName, type OptionType } from '@bpfscope/viz/tools';
import { TOOLS, toolInfo, type OptionValue, type StackMode, type ThreadMode, type CaptureForm as CaptureFormState } from '../../lib/tools';
import { useCapture, useCaptureStore } from '../providers';
import { PidPicker } from './PidPicker';
import { ProbePicker } from './ProbePicker';

function NumField({
  label,
  value,
  onChange,
  min,
  max,
  step,
  placeholder,
  testid,
  hint,
}: {
  label: string;
  value: number | null;
  onChange: (v: number | null) => void;
  min?: number;
  max?: number;
  step?: number | 'any';
  placeholder?: string;
  testid?: string;
  hint?: string;
}) {
  return (
    <label className="field" title={hint}>
      <span>{label}</span>
      <input
        type="number"
        value={value ?? ''}
        min={min}
        max={max}
        step={step}
        placeholder={placeholder}
        data-testid={testid}
        onChange={(e) => onChange(e.target.value === '' ? null : Number(e.target.value))}
      />
    </label>
  );
}

function Check({
  label,
  checked,
  onChange,
  hint,
  testid,
}: {
  label: string;
  checked: boolean;
  onChange: (v: boolean) => void;
  hint?: string;
  testid?: string;
}) {
  return (
    <label className="check" title={hint}>
      <input type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} data-testid={testid} />
      {label}
    </label>
  );
}

/** The control of an option without a dedicated field, by its type in the tool table. */
function OptionField({ name, value, onChange }: { name: OptionName; value: OptionValue | undefined; onChange: (v: OptionValue | undefined) => void }) {
  const def: OptionDef = OPTIONS[name];
  const type = def.type as OptionType;
  const testid = `option-${name}`;
  const fallback = def.default !== undefined ? ` (${String(def.default)})` : '';
  switch (type.kind) {
    case 'bool':
      return <Check label={def.label} checked={value === true} onChange={(v) => onChange(v)} hint={def.help} testid={testid} />;
    case 'enum':
      return (
        <label className="field" title={def.help}>
          <span>{def.label}</span>
          <select value={typeof value === 'string' ? value : ''} onChange={(e) => onChange(e.target.value || undefined)} data-testid={testid}>
            <option value="">default{fallback}</option>
            {type.values.map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        </label>
      );
    case 'int':
    case 'number':
      return (
        <NumField
          label={def.label}
          value={typeof value === 'number' ? value : null}
          min={type.min}
          max={type.max}
          step={type.kind === 'int' ? 1 : 'any'}
          placeholder={fallback ? `default${fallback}` : 'default'}
          testid={testid}
          hint={def.help}
          onChange={(v) => onChange(v ?? undefined)}
        />
      );
    case 'ids':
      return null; // PIDs and TIDs have the PID picker
    case 'string':
      return <ProbePicker label={def.label} help={def.help} value={typeof value === 'string' ? value : ''} maxLength={type.maxLength} onChange={onChange} />;
  }
}

function summary(form: CaptureFormState): string {
  const parts = [`${form.durationSec} s`];
  const f = new Set(toolInfo(form.tool)?.fields ?? []);
  if (f.has('frequency')) parts.push(`${form.frequency} Hz`);
  if (f.has('pid')) parts.push(form.pids.length ? `PID ${form.pids.join(',')}` : 'all processes');
  if (f.has('stacks') && form.stacks !== 'both') parts.push(`${form.stacks} stacks only`);
  if (f.has('block') && form.minBlockUs !== null) parts.push(`≥ ${form.minBlockUs} µs`);
  if (f.has('block') && form.maxBlockUs !== null) parts.push(`≤ ${form.maxBlockUs} µs`);
  if (f.has('perDisk') && form.perDisk) parts.push('per disk');
  if (f.has('perFlag') && form.perFlag) parts.push('per flags');
  if (f.has('queued') && form.queued) parts.push('with queue time');
  for (const k of toolInfo(form.tool)?.generic ?? []) {
    const v = form.extra[k];
    if (v !== undefined && v !== false && v !== '') parts.push(v === true ? OPTIONS[k].label : `${OPTIONS[k].label}: ${String(v)}`);
  }
  return parts.join(' · ');
}

export function CaptureForm() {
  const store = useCaptureStore();
  const form = useCapture((s) => s.form);
  const phase = useCapture((s) => s.phase);
  const collectors = useCapture((s) => s.collectors);
  const busy = phase === 'starting' || phase === 'running' || phase === 'stopping';
  const info = toolInfo(form.tool)!;
  const f = new Set(info.fields);
  const set = store.getState().setForm;
  const collector = collectors.find((c) => c.id === form.collector);

  if (phase !== 'idle') {
    // a capture is on screen: keep the options out of its way ("New capture" brings them back)
    return (
      <section className="card capture-summary" aria-label="Capture options" data-testid="capture-summary">
        <strong>{info.label}</strong>
        <span className="small muted mono">{summary(form)}</span>
      </section>
    );
  }

  return (
    <section className="card" aria-label="New capture">
      <div className="tabs" role="tablist" aria-label="Tools">
        {TOOLS.map((t) => (
          <button
            key={t.name}
            type="button"
            role="tab"
            className="tab"
            aria-selected={form.tool === t.name}
            data-testid={`tool-${t.name}`}
            disabled={busy}
            onClick={() => set({ tool: t.name })}
          >
            {t.label}
          </button>
        ))}
      </div>
      <p className="muted small" style={{ marginTop: 0 }}>
        {info.blurb}
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void store.getState().start();
        }}
      >
        <fieldset disabled={busy} style={{ border: 'none', padding: 0, margin: 0 }}>
          <div className="form-grid">
            <NumField label="Duration (s)" value={form.durationSec} min={1} max={3600} testid="duration-input" onChange={(v) => set({ durationSec: v ?? 0 })} />
            {f.has('frequency') && (
              <NumField
                label="Frequency (Hz)"
                value={form.frequency}
                min={1}
                max={100000}
                testid="frequency-input"
                hint="Samples per second per CPU (bcc profile -F; 49 by default, off-beat with timers)"
                onChange={(v) => set({ frequency: v ?? 49 })}
              />
            )}
            {f.has('pid') && <PidPicker key={`pid-${form.collector}`} />}
            {f.has('tid') && <PidPicker key={`tid-${form.collector}`} field="tids" label="Threads (TID)" />}
            {f.has('stacks') && (
              <label className="field">
                <span>Stacks</span>
                <select value={form.stacks} onChange={(e) => set({ stacks: e.target.value as StackMode })} data-testid="stacks-select">
                  <option value="both">user + kernel</option>
                  <option value="user">user only (-U)</option>
                  <option value="kernel">kernel only (-K)</option>
                </select>
              </label>
            )}
            {f.has('threads') && (
              <label className="field">
                <span>Threads</span>
                <select value={form.threads} onChange={(e) => set({ threads: e.target.value as ThreadMode })}>
                  <option value="all">all</option>
                  <option value="user">user threads only (-u)</option>
                  <option value="kernel">kernel threads only (-k)</option>
                </select>
              </label>
            )}
            {f.has('threadsUserOnly') && (
              <Check label="User threads only (-u)" checked={form.threads === 'user'} onChange={(v) => set({ threads: v ? 'user' : 'all' })} />
            )}
            {f.has('block') && (
              <>
                <NumField
                  label="Min block time (µs)"
                  value={form.minBlockUs}
                  min={0}
                  placeholder="none"
                  testid="min-block-input"
                  hint="Ignore blocks shorter than this (-m; bcc default 1 µs)"
                  onChange={(v) => set({ minBlockUs: v })}
                />
                <NumField
                  label="Max block time (µs)"
                  value={form.maxBlockUs}
                  min={1}
                  placeholder="no limit"
                  testid="max-block-input"
                  hint="Ignore blocks longer than this (-M)"
                  onChange={(v) => set({ maxBlockUs: v })}
                />
              </>
            )}
            {f.has('includeIdle') && (
              <Check label="Include idle (-I)" checked={form.includeIdle} onChange={(v) => set({ includeIdle: v })} hint="Also sample the idle task (pid 0)" />
            )}
            {f.has('perDisk') && <Check label="Per disk (-D)" checked={form.perDisk} onChange={(v) => set({ perDisk: v })} testid="per-disk" />}
            {f.has('perFlag') && <Check label="Per read/write flags (-F)" checked={form.perFlag} onChange={(v) => set({ perFlag: v })} testid="per-flag" />}
            {f.has('queued') && (
              <Check
                label="Include OS queued time (-Q)"
                checked={form.queued}
                onChange={(v) => set({ queued: v })}
                hint="Measure from when the request was queued, not issued"
              />
            )}
            {f.has('milliseconds') && <Check label="Milliseconds (-m)" checked={form.milliseconds} onChange={(v) => set({ milliseconds: v })} />}
            {f.has('intervalSec') && (
              <NumField
                label="Interval (s)"
                value={form.intervalSec}
                min={0.25}
                max={10}
                step={0.25}
                hint="One heat map column per interval"
                onChange={(v) => set({ intervalSec: v ?? 1 })}
              />
            )}
            {info.generic.map((k) => (
              <OptionField key={k} name={k} value={form.extra[k]} onChange={(v) => set({ extra: { ...form.extra, [k]: v } })} />
            ))}
          </div>
          <div className="row" style={{ marginTop: 12 }}>
            <button
              type="submit"
              className="btn primary"
              data-testid="start-capture"
              disabled={busy || (form.target === 'one' && collector ? !collector.healthy : false)}
            >
              ▶ Start {info.label.toLowerCase()}
            </button>
            {form.target === 'one' && collector && !collector.healthy && (
              <span className="small" style={{ color: 'var(--err)' }}>
                The selected collector is unavailable.
              </span>
            )}
          </div>
        </fieldset>
      </form>
    </section>
  );
}
