/**
 * Capture store (console page): collectors and their health, the capture form, the running
 * capture fed by the hub's SSE stream, and saving it as a snapshot. Created per provider
 * (components/providers.tsx), never module-global.
 *
 * Deltas are merged into a LiveAccumulator as they arrive; the immutable Profile that views
 * render is rebuilt at most every FLUSH_MS, so a fast stream never re-renders more than ~4×/s.
 */
import { createStore } from 'zustand/vanilla';
import type { Profile, LossStats, ToolName } from '@bpfscope/viz';
import { LiveAccumulator, type LiveProgress } from '../lib/live';
import { api, type CollectorInfo, type ProcessInfo } from '../lib/api';
import { captureRequest, defaultForm, type CaptureForm } from '../lib/tools';

export const FLUSH_MS = 250;

export type CapturePhase = 'idle' | 'starting' | 'running' | 'stopping' | 'done' | 'failed';

export interface SaveState {
  state: 'idle' | 'saving' | 'saved' | 'error';
  error?: string;
  snapshotId?: string;
  url?: string;
}

export interface CaptureState {
  collectors: CollectorInfo[];
  collectorsLoaded: boolean;
  collectorsError: string | null;
  processes: ProcessInfo[];
  processesError: string | null;
  processesLoading: boolean;
  form: CaptureForm;
  phase: CapturePhase;
  captureId: string | null;
  /** tool of the running/last capture (the form may have moved on). */
  captureTool: ToolName | null;
  error: string | null;
  notices: string[];
  /** a fleet capture: each host's end as the hub reported it (host_done / host_failed notices). */
  hostStates: Record<string, { state: 'done' | 'failed'; message: string }>;
  /** the running/last capture runs on several hosts (stacks start with the host's name). */
  fleet: boolean;
  /** the hosts a fleet capture was asked to run on (by name; empty for a label selector). */
  fleetHosts: string[];
  /** local clock (ms) when the capture was started, for the progress bar between deltas. */
  startedAt: number | null;
  progress: LiveProgress;
  /** local clock (ms) when `progress` last changed, to advance the bar smoothly between deltas. */
  progressAt: number | null;
  loss: LossStats;
  profile: Profile | null;
  endReason: string | null;
  /** ms from clicking Start to the first non-empty profile on screen (time to first flame graph). */
  firstDataMs: number | null;
  save: SaveState;

  setForm(patch: Partial<CaptureForm>): void;
  loadCollectors(): Promise<void>;
  loadProcesses(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  cancel(): Promise<void>;
  saveSnapshot(name: string, notes: string): Promise<void>;
  /** forget the finished capture (back to the form). */
  clear(): void;
  /** close streams and timers (provider unmount). */
  dispose(): void;
}

/** What the store needs from the browser; tests pass fakes. */
export interface CaptureDeps {
  api: typeof api;
  openEvents(url: string): EventSourceLike;
  now(): number;
}

export interface EventSourceLike {
  onmessage: ((ev: { data: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  readonly readyState: number;
  close(): void;
}

const CLOSED = 2;

export function createCaptureStore(deps?: Partial<CaptureDeps>) {
  const d: CaptureDeps = {
    api: deps?.api ?? api,
    openEvents: deps?.openEvents ?? ((url) => new EventSource(url) as unknown as EventSourceLike),
    now: deps?.now ?? (() => Date.now()),
  };
  let es: EventSourceLike | null = null;
  let acc: LiveAccumulator | null = null;
  let flushTimer: ReturnType<typeof setTimeout> | null = null;
  let lastFlush = 0;
  let flushedVersion = -1;
  let generation = 0;

  const emptyProgress: LiveProgress = { elapsedMs: 0, durationMs: 0, samples: 0, events: 0 };
  /** A capture's own fields as they are before the first capture, and as each start begins them. */
  const noRun = (): Pick<
    CaptureState,
    'captureId' | 'captureTool' | 'error' | 'notices' | 'startedAt' | 'progress' | 'progressAt' | 'loss' | 'profile' | 'endReason' | 'firstDataMs' | 'save'
  > => ({
    captureId: null,
    captureTool: null,
    error: null,
    notices: [],
    startedAt: null,
    progress: emptyProgress,
    progressAt: null,
    loss: {},
    profile: null,
    endReason: null,
    firstDataMs: null,
    save: { state: 'idle' },
  });

  return createStore<CaptureState>()((set, get) => {
    function closeStream() {
      if (es) {
        es.onmessage = null;
        es.onerror = null;
        es.close();
        es = null;
      }
    }

    function flush() {
      flushTimer = null;
      if (!acc || acc.version === flushedVersion) return;
      flushedVersion = acc.version;
      lastFlush = d.now();
      const profile = acc.toProfile();
      const s = get();
      const firstDataMs =
        s.firstDataMs === null && s.startedAt !== null && (profile.total > 0 || (profile.histograms?.intervals.length ?? 0) > 0)
          ? d.now() - s.startedAt
          : s.firstDataMs;
      const progressAt = acc.progress.elapsedMs !== s.progress.elapsedMs || s.progressAt === null ? d.now() : s.progressAt;
      set({ profile, progress: { ...acc.progress }, progressAt, loss: { ...acc.loss }, firstDataMs });
    }

    function scheduleFlush(immediate = false) {
      if (immediate) {
        if (flushTimer) clearTimeout(flushTimer);
        flush();
        return;
      }
      if (flushTimer) return;
      const wait = Math.max(0, FLUSH_MS - (d.now() - lastFlush));
      flushTimer = setTimeout(flush, wait);
    }

    function onMessage(raw: string, gen: number) {
      if (gen !== generation || !acc) return;
      let msg: { type?: string; [k: string]: unknown };
      try {
        msg = JSON.parse(raw);
      } catch {
        set({ notices: [...get().notices, 'The hub sent a message that is not JSON; it was ignored.'] });
        return;
      }
      switch (msg.type) {
        case 'started':
          if (typeof msg.startTime === 'number') acc.startTime = msg.startTime;
          acc.meta = { ...acc.meta, host: String(msg.host ?? ''), kernel: String(msg.kernel ?? ''), options: msg.options as Record<string, unknown> };
          break;
        case 'delta':
          try {
            acc.apply(msg as never);
          } catch (e) {
            set({ notices: [...get().notices, `A live update could not be applied: ${(e as Error).message}`] });
            return;
          }
          scheduleFlush();
          break;
        case 'end': {
          acc.end(msg as never);
          closeStream();
          scheduleFlush(true);
          const failed = msg.reason === 'failed';
          set({
            phase: failed ? 'failed' : 'done',
            endReason: String(msg.reason),
            error: failed ? String(msg.error ?? 'the capture failed') : get().error,
          });
          break;
        }
        case 'error':
          closeStream();
          scheduleFlush(true);
          set({ phase: 'failed', error: String(msg.message ?? 'the collector reported an error') });
          break;
        case 'notice': {
          const text = String(msg.message ?? msg.code ?? '');
          const patch: Partial<CaptureState> = { notices: [...get().notices, text] };
          if (msg.code === 'host_done' || msg.code === 'host_failed') {
            // "<host>: <words>" (host names never contain ':')
            const colon = text.indexOf(':');
            const host = colon > 0 ? text.slice(0, colon) : text;
            patch.hostStates = { ...get().hostStates, [host]: { state: msg.code === 'host_done' ? 'done' : 'failed', message: text.slice(colon + 1).trim() } };
          }
          set(patch);
          break;
        }
        default:
          break;
      }
    }

    async function onStreamError(gen: number, id: string) {
      if (gen !== generation) return;
      // EventSource retries by itself while CONNECTING; a CLOSED stream means the hub gave up.
      if (!es || es.readyState !== CLOSED) return;
      closeStream();
      try {
        const st = await d.api.captureState(id);
        if (gen !== generation) return;
        if (st.state === 'running') {
          set({ notices: [...get().notices, 'The live stream was interrupted; reconnecting…'] });
          openStream(id, gen);
          return;
        }
        scheduleFlush(true);
        set({ phase: st.state === 'failed' ? 'failed' : 'done', error: st.state === 'failed' ? (st.error ?? 'the capture failed') : get().error });
      } catch (e) {
        set({ phase: 'failed', error: `Lost the live stream of capture ${id}: ${(e as Error).message}` });
      }
    }

    function openStream(id: string, gen: number) {
      es = d.openEvents(`/api/captures/${encodeURIComponent(id)}/events`);
      es.onmessage = (ev) => onMessage(ev.data, gen);
      es.onerror = () => void onStreamError(gen, id);
    }

    return {
      collectors: [],
      collectorsLoaded: false,
      collectorsError: null,
      processes: [],
      processesError: null,
      processesLoading: false,
      hostStates: {},
      fleet: false,
      fleetHosts: [],
      form: defaultForm(),
      phase: 'idle',
      ...noRun(),

      setForm(patch) {
        set({ form: { ...get().form, ...patch } });
      },

      async loadCollectors() {
        try {
          const { collectors } = await d.api.collectors();
          const form = get().form;
          const patch: Partial<CaptureState> = { collectors, collectorsLoaded: true, collectorsError: null };
          if (collectors.length && !collectors.some((c) => c.id === form.collector)) patch.form = { ...form, collector: collectors[0].id };
          set(patch);
        } catch (e) {
          set({ collectorsLoaded: true, collectorsError: (e as Error).message });
        }
      },

      async loadProcesses() {
        set({ processesLoading: true });
        try {
          const { processes } = await d.api.processes(get().form.collector);
          set({ processes, processesError: null, processesLoading: false });
        } catch (e) {
          set({ processesError: (e as Error).message, processesLoading: false });
        }
      },

      async start() {
        const s = get();
        if (s.phase === 'starting' || s.phase === 'running' || s.phase === 'stopping') return;
        let body;
        try {
          body = captureRequest(s.form);
        } catch (e) {
          set({ error: (e as Error).message, phase: 'idle' });
          return;
        }
        closeStream();
        const gen = ++generation;
        acc = new LiveAccumulator(s.form.tool);
        flushedVersion = -1;
        set({
          ...noRun(),
          phase: 'starting',
          captureTool: s.form.tool,
          hostStates: {},
          fleet: s.form.target !== 'one',
          fleetHosts: body.hosts ?? [],
          startedAt: d.now(),
          progress: { ...emptyProgress, durationMs: s.form.durationSec * 1000 },
        });
        try {
          const { id } = await d.api.startCapture(body);
          if (gen !== generation) return;
          set({ captureId: id, phase: 'running' });
          openStream(id, gen);
        } catch (e) {
          if (gen !== generation) return;
          set({ phase: 'failed', error: (e as Error).message });
        }
      },

      async stop() {
        const { captureId, phase } = get();
        if (!captureId || phase !== 'running') return;
        set({ phase: 'stopping' });
        try {
          await d.api.stopCapture(captureId);
          // the stream's `end` message moves the phase to done
        } catch (e) {
          set({ phase: 'running', error: (e as Error).message });
        }
      },

      async cancel() {
        const { captureId } = get();
        generation++;
        closeStream();
        if (flushTimer) clearTimeout(flushTimer);
        flushTimer = null;
        set({ phase: 'idle', captureId: null, profile: null, endReason: 'cancelled' });
        if (captureId) {
          try {
            await d.api.cancelCapture(captureId);
          } catch (e) {
            set({ error: (e as Error).message });
          }
        }
      },

      async saveSnapshot(name, notes) {
        const { captureId, phase } = get();
        if (!captureId || (phase !== 'done' && phase !== 'failed')) return;
        if (!name.trim()) {
          set({ save: { state: 'error', error: 'Give the snapshot a name.' } });
          return;
        }
        set({ save: { state: 'saving' } });
        try {
          const r = await d.api.saveCapture(captureId, name.trim(), notes);
          set({ save: { state: 'saved', snapshotId: r.id, url: r.url || `/s/${r.id}` } });
        } catch (e) {
          set({ save: { state: 'error', error: (e as Error).message } });
        }
      },

      clear() {
        generation++;
        closeStream();
        acc = null;
        set({
          phase: 'idle',
          captureId: null,
          captureTool: null,
          profile: null,
          error: null,
          notices: [],
          hostStates: {},
          endReason: null,
          save: { state: 'idle' },
          loss: {},
          progress: emptyProgress,
          progressAt: null,
        });
      },

      dispose() {
        generation++;
        closeStream();
        if (flushTimer) clearTimeout(flushTimer);
        flushTimer = null;
      },
    };
  });
}

export type CaptureStore = ReturnType<typeof createCaptureStore>;
