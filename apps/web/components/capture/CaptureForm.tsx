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

/**
 * The control of one option, by its type, label, limits and help in the tool table. `placeholder`
 * says what an empty number field means when that is not the option's default.
 */
function OptionField({
  name,
  value,
  onChange,
  placeholder,
}: {
  name: OptionName;
  value: OptionValue | null | undefined;
  onChange: (v: OptionValue | undefined) => void;
  placeholder?: string;
}) {
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
          placeholder={placeholder ?? (fallback ? `default${fallback}` : 'default')}
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

/** A number field's value, or null when it is empty. */
function asNumber(v: OptionValue | undefined): number | null {
  return typeof v === 'number' ? v : null;
}

function summary(form: CaptureFormState): string {
  const parts = [`${form.durationSec} s`];
  const f = new Set(toolInfo(form.tool)?.fields ?? []);
  if (f.has('frequency')) parts.push(`${form.frequency} Hz`);
  if (f.has('pid')) parts.push(form.pids.length ? `PID ${form.pids.join(',')}` : 'all processes');
  if (f.has('stacks') && form.stacks !== 'both') parts.push(`${form.stacks} stacks only`);
  if (f.has('block') && form.minBlockUs !== null) parts.push(`≥ ${form.minBlockUs} µs`);
  if (f.has('block') && form.maxBlockUs !== null) parts.push(`≤ ${form.maxBlockUs} µs`);
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
              <OptionField name="frequency" value={form.frequency} onChange={(v) => set({ frequency: asNumber(v) ?? OPTIONS.frequency.default })} />
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
                <OptionField name="minBlockUs" value={form.minBlockUs} placeholder="none" onChange={(v) => set({ minBlockUs: asNumber(v) })} />
                <OptionField name="maxBlockUs" value={form.maxBlockUs} placeholder="no limit" onChange={(v) => set({ maxBlockUs: asNumber(v) })} />
              </>
            )}
            {f.has('intervalSec') && (
              <OptionField name="intervalSec" value={form.intervalSec} onChange={(v) => set({ intervalSec: asNumber(v) ?? OPTIONS.intervalSec.default })} />
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
