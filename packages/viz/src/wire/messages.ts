/**
 * Versioned messages between collector, hub and browser (protocol version 1).
 * Every message is one JSON object with a `type`. Both ends validate with these schemas.
 * docs/protocol.md describes the exchange with examples.
 */
import { z } from 'zod';
import type { LossStats } from '../model/types.js';
import { OPTION_NAMES, OPTIONS, TOOL_NAMES, type OptionName, type OptionType } from '../tools/table.js';

/**
 * 3: source lines in deltas (`lines`, `stackLines`): a version-1/2 client gets deltas without them.
 * 2: the `unwind` capture option and the unwind* and timelineDropped loss counters. A collector
 * speaks every version in SUPPORTED_PROTOCOL_VERSIONS: a version-1 client (which cannot send
 * `unwind`, so gets the default, auto) is not sent counters its strict loss schema does not know.
 */
export const PROTOCOL_VERSION = 3;
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [1, 2, 3];
/** the protocol version that added source lines to deltas */
export const LINES_SINCE = 3;
/**
 * Every loss counter (LossStats, ../model/types.ts: the compiler checks that both name the same
 * counters) and the protocol version that introduced it. The loss schema is made from it.
 */
export const LOSS_KEYS_SINCE = {
  userStackMissing: 1,
  kernelStackMissing: 1,
  stackCollisions: 1,
  stackNoMem: 1,
  mapFull: 1,
  truncatedStacks: 1,
  lostEvents: 1,
  otherStacks: 1,
  timelineDropped: 2,
  unwindNoTable: 2,
  unwindUnsupported: 2,
  unwindReadFault: 2,
  pythonUnsupported: 2,
} as const satisfies Record<keyof LossStats, number>;
type LossKey = keyof typeof LOSS_KEYS_SINCE;

/**
 * A server message (JSON text) for a client of an older protocol `version`: loss counters and
 * delta fields (source lines) that version does not know are left out. The text itself when nothing changes.
 */
export function messageForVersion(text: string, version: number): string {
  if (version >= PROTOCOL_VERSION) return text;
  const hasLines = version < LINES_SINCE && (text.includes('"stackLines"') || text.includes('"lines"'));
  if (!hasLines && !text.includes('"loss"')) return text;
  const m = JSON.parse(text) as { type?: string; loss?: Record<string, unknown>; lines?: unknown; stackLines?: unknown };
  let changed = false;
  if (hasLines && m.type === 'delta' && (m.lines !== undefined || m.stackLines !== undefined)) {
    delete m.lines;
    delete m.stackLines;
    changed = true;
  }
  if (!m.loss) return changed ? JSON.stringify(m) : text;
  const since: Readonly<Record<string, number | undefined>> = LOSS_KEYS_SINCE;
  for (const k of Object.keys(m.loss)) {
    if ((since[k] ?? 1) > version) {
      delete m.loss[k];
      changed = true;
    }
  }
  return changed ? JSON.stringify(m) : text;
}

export { TOOL_NAMES };
export const toolNameSchema = z.enum(TOOL_NAMES);

/** The value of one option, by its type in the tool table. */
type OptionValue<T extends OptionType> = T extends { kind: 'bool' }
  ? boolean
  : T extends { kind: 'ids' }
    ? number | number[]
    : T extends { kind: 'enum'; values: readonly (infer V)[] }
      ? V
      : T extends { kind: 'string' }
        ? string
        : number;

/**
 * Capture options, shared by the collector protocol and the web REST API. Each carries the meaning
 * of the bcc flag of the same tool; ../tools/table.ts defines them (type, limits, which tools).
 */
export type CaptureOptions = { [K in OptionName]?: OptionValue<(typeof OPTIONS)[K]['type']> };

function optionSchema(t: OptionType): z.ZodTypeAny {
  switch (t.kind) {
    case 'bool':
      return z.boolean();
    case 'int': {
      const n = z.number().int().min(t.min);
      return t.max === undefined ? n : n.max(t.max);
    }
    case 'number':
      return z.number().min(t.min).max(t.max);
    case 'ids':
      return z.union([z.number().int().positive(), z.array(z.number().int().positive()).min(1).max(t.maxItems)]);
    case 'enum':
      return z.enum(t.values as [string, ...string[]]);
    case 'string':
      return z
        .string()
        .min(1)
        .max(t.maxLength)
        .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'must not contain control characters');
  }
}

const optionsObject = z
  .object(Object.fromEntries(OPTION_NAMES.map((k) => [k, optionSchema(OPTIONS[k].type).optional()])))
  .strict() as unknown as z.ZodType<CaptureOptions>;

/** Unknown keys are rejected (strict), so a typo names itself. */
export const captureOptionsSchema = optionsObject.superRefine((o, ctx) => {
  if (o.userStacksOnly && o.kernelStacksOnly)
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['kernelStacksOnly'], message: 'userStacksOnly and kernelStacksOnly are mutually exclusive' });
  if (o.userThreadsOnly && o.kernelThreadsOnly)
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['kernelThreadsOnly'], message: 'userThreadsOnly and kernelThreadsOnly are mutually exclusive' });
  if (o.minBlockUs !== undefined && o.maxBlockUs !== undefined && o.minBlockUs > o.maxBlockUs)
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['maxBlockUs'], message: 'maxBlockUs must be >= minBlockUs' });
});

export const frameKindSchema = z.enum(['comm', 'kernel', 'user', 'jit', 'inline', 'separator', 'unknown', 'python']);

// ---------- client -> collector ----------

export const helloSchema = z.object({ type: z.literal('hello'), version: z.number().int(), client: z.string().max(200).optional() }).strict();

export const startSchema = z
  .object({
    type: z.literal('start'),
    /** echoed back in `started` / `error` so the client can match replies. */
    requestId: z.string().min(1).max(100),
    tool: toolNameSchema,
    /** 0 < durationSec <= the collector's limit (default 600). */
    durationSec: z.number().positive().max(86400),
    options: captureOptionsSchema.default({}),
  })
  .strict();

export const stopSchema = z.object({ type: z.literal('stop'), captureId: z.string().min(1).max(100) }).strict();
export const cancelSchema = z.object({ type: z.literal('cancel'), captureId: z.string().min(1).max(100) }).strict();
export const subscribeSchema = z.object({ type: z.literal('subscribe'), captureId: z.string().min(1).max(100) }).strict();
export const unsubscribeSchema = z.object({ type: z.literal('unsubscribe'), captureId: z.string().min(1).max(100) }).strict();
export const pingSchema = z.object({ type: z.literal('ping'), id: z.string().max(100).optional() }).strict();
export const listProcessesSchema = z.object({ type: z.literal('processes'), requestId: z.string().min(1).max(100) }).strict();
/** Search the probes a pattern can name, as the user types (the console's probe picker). */
export const searchProbesSchema = z
  .object({
    type: z.literal('probes'),
    requestId: z.string().min(1).max(100),
    /** `vfs_re` (kernel functions), `t:sched` (tracepoints), `c:mall` or `/path/bin:fn` (a binary's functions) */
    query: z.string().max(512),
    /** look a library up in this process's mappings first */
    pid: z.number().int().positive().optional(),
    limit: z.number().int().min(1).max(500).optional(),
  })
  .strict();
/** Ask for the captures currently running on the collector (to subscribe to one). */
export const listCapturesSchema = z.object({ type: z.literal('captures'), requestId: z.string().min(1).max(100) }).strict();

export const clientMessageSchema = z.discriminatedUnion('type', [
  helloSchema,
  startSchema,
  stopSchema,
  cancelSchema,
  subscribeSchema,
  unsubscribeSchema,
  pingSchema,
  listProcessesSchema,
  listCapturesSchema,
  searchProbesSchema,
]);
/** Every client message type, for "unknown type" errors. */
export const CLIENT_MESSAGE_TYPES = ['hello', 'start', 'stop', 'cancel', 'subscribe', 'unsubscribe', 'ping', 'processes', 'captures', 'probes'] as const;
export type ClientMessage = z.infer<typeof clientMessageSchema>;

// ---------- collector -> client ----------

/** Every counter of LOSS_KEYS_SINCE, optional (absent: not measured); unknown ones are rejected. */
export const lossSchema = z
  .object(Object.fromEntries(Object.keys(LOSS_KEYS_SINCE).map((k) => [k, z.number().optional()])) as Record<LossKey, z.ZodOptional<z.ZodNumber>>)
  .strict();

export const limitsSchema = z.object({
  maxDurationSec: z.number(),
  maxFrequency: z.number(),
  maxConcurrentCaptures: z.number(),
  maxUniqueStacks: z.number(),
  minIntervalSec: z.number(),
  maxIntervalSec: z.number(),
  maxMessageBytes: z.number(),
});
export type Limits = z.infer<typeof limitsSchema>;

export const welcomeSchema = z.object({
  type: z.literal('welcome'),
  version: z.number().int(),
  collectorVersion: z.string(),
  host: z.string(),
  kernel: z.string(),
  btf: z.boolean(),
  privileged: z.boolean(),
  tools: z.array(toolNameSchema),
  cpus: z.number().int(),
  limits: limitsSchema,
});

/** What a running capture is: `started` tells its requester, `captures` lists it to others. */
const captureFields = {
  captureId: z.string(),
  tool: toolNameSchema,
  options: z.record(z.string(), z.unknown()),
  durationSec: z.number(),
  intervalMs: z.number(),
  /** epoch ms */
  startTime: z.number(),
};

export const startedSchema = z.object({
  type: z.literal('started'),
  requestId: z.string(),
  ...captureFields,
  host: z.string(),
  kernel: z.string(),
});

/**
 * One interval's worth of data. Frames and stacks are interned per capture: `frames` and
 * `stacks` define ids first seen in this delta (never resent); `counts` adds weight to stacks
 * by id. A client that subscribes late first receives one delta with `full: true` holding every
 * definition so far and cumulative counts.
 */
export const deltaSchema = z.object({
  type: z.literal('delta'),
  captureId: z.string(),
  /** the interval, 1, 2, 3… per capture; in a full delta the last interval included (0: none yet) */
  seq: z.number().int().nonnegative(),
  full: z.boolean().optional(),
  /** [frameId, name, kind] */
  frames: z.array(z.tuple([z.number().int(), z.string(), frameKindSchema])).optional(),
  /** [stackId, [frameId...] root first] */
  stacks: z.array(z.tuple([z.number().int(), z.array(z.number().int())])).optional(),
  /** protocol 3: [lineId, file, line] source lines first seen in this delta (ids per capture, from 1; 0 is unknown) */
  lines: z.array(z.tuple([z.number().int().positive(), z.string().min(1), z.number().int().positive()])).optional(),
  /** protocol 3: [stackId, [lineId...]] the line of each frame of a stack defined in this delta (aligned to its frames, 0 unknown); absent for stacks without lines */
  stackLines: z.array(z.tuple([z.number().int(), z.array(z.number().int().min(0))])).optional(),
  /** [stackId, weight] added in this interval */
  counts: z.array(z.tuple([z.number().int(), z.number()])).optional(),
  /** profile only: [offsetMs from capture start, stackId, count] */
  timeline: z.array(z.tuple([z.number(), z.number().int(), z.number()])).optional(),
  timelineResolutionMs: z.number().optional(),
  /** biolatency only: one log2 histogram per key for this interval */
  histograms: z.array(z.object({ start: z.number(), end: z.number(), key: z.string(), slots: z.array(z.number()) })).optional(),
  histUnit: z.enum(['usecs', 'msecs']).optional(),
  histKeyKind: z.enum(['none', 'disk', 'flags', 'pid', 'tid', 'function']).optional(),
  progress: z.object({
    elapsedMs: z.number(),
    durationMs: z.number(),
    samples: z.number(),
    events: z.number(),
    /** what one run of the capture's BPF programs costs, from the kernel's bpf_stats (when kernel.bpf_stats_enabled=1; the any-event tools) */
    bpfNsPerRun: z.number().optional(),
  }),
  loss: lossSchema.optional(),
  /** epoch ms (collector clock) when the interval this delta covers ended, i.e. when the collector began
   * draining the tool; `receive time - intervalEnd` is the end-to-end delay (drain, symbolize, send). */
  intervalEnd: z.number().optional(),
  /** how many intervals this delta holds (> 1 when deltas were coalesced for a slow client). */
  intervals: z.number().int().optional(),
});

export const endSchema = z.object({
  type: z.literal('end'),
  captureId: z.string(),
  reason: z.enum(['completed', 'stopped', 'cancelled', 'failed', 'shutdown']),
  error: z.string().optional(),
  unit: z.enum(['samples', 'microseconds', 'count']),
  total: z.number(),
  samples: z.number(),
  events: z.number(),
  loss: lossSchema.optional(),
  meta: z.object({
    tool: toolNameSchema,
    host: z.string(),
    kernel: z.string(),
    options: z.record(z.string(), z.unknown()),
    startTime: z.number(),
    durationMs: z.number(),
  }),
});

export const errorSchema = z.object({
  type: z.literal('error'),
  requestId: z.string().optional(),
  captureId: z.string().optional(),
  /** machine-readable: bad_json, bad_message, unknown_type, unknown_tool, bad_option, limit, no_such_pid, no_such_capture, privileges, bpf, internal, rate_limited */
  code: z.string(),
  /** the offending field, dotted (e.g. "options.pid"). */
  field: z.string().optional(),
  message: z.string(),
});

export const pongSchema = z.object({ type: z.literal('pong'), id: z.string().optional() });
export const processesSchema = z.object({
  type: z.literal('processes'),
  requestId: z.string(),
  processes: z.array(z.object({ pid: z.number(), comm: z.string(), cmdline: z.string() })),
});
/** The answer to `probes`: up to `limit` patterns to offer, `total` names matched; `error` when the query names a missing binary. */
export const probesSchema = z.object({
  type: z.literal('probes'),
  requestId: z.string(),
  scope: z.enum(['kernel', 'tracepoint', 'user']).optional(),
  matches: z.array(z.string()),
  total: z.number().int(),
  error: z.string().optional(),
});
export const noticeSchema = z.object({ type: z.literal('notice'), captureId: z.string().optional(), code: z.string(), message: z.string() });
export const captureInfoSchema = z.object({ ...captureFields, subscribers: z.number().int() });
export const capturesSchema = z.object({ type: z.literal('captures'), requestId: z.string(), captures: z.array(captureInfoSchema) });

export const serverMessageSchema = z.discriminatedUnion('type', [
  welcomeSchema,
  startedSchema,
  deltaSchema,
  endSchema,
  errorSchema,
  pongSchema,
  processesSchema,
  noticeSchema,
  capturesSchema,
  probesSchema,
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;
export type DeltaMessage = z.infer<typeof deltaSchema>;
export type EndMessage = z.infer<typeof endSchema>;
export type StartedMessage = z.infer<typeof startedSchema>;
export type WelcomeMessage = z.infer<typeof welcomeSchema>;
export type ErrorMessage = z.infer<typeof errorSchema>;
export type StartMessage = z.infer<typeof startSchema>;
export type NoticeMessage = z.infer<typeof noticeSchema>;
export type CapturesMessage = z.infer<typeof capturesSchema>;
export type ProcessesMessage = z.infer<typeof processesSchema>;
export type ProbesMessage = z.infer<typeof probesSchema>;
export type CaptureInfo = z.infer<typeof captureInfoSchema>;

/** WebSocket close codes used by the collector. */
export const CLOSE_CODES = {
  /** missing or wrong token */
  unauthorized: 4401,
  /** Origin not in the allow-list */
  forbiddenOrigin: 4403,
  /** client too slow: its send buffer passed the limit */
  tooSlow: 4408,
  /** protocol version not supported */
  badVersion: 4400,
  /** rate limit exceeded repeatedly */
  rateLimited: 4429,
  /** a joined collector removed by the hub's operator: it does not rejoin until restarted */
  removed: 4410,
  /** collector shutting down */
  shutdown: 1001,
} as const;

/** Turns a zod error into "field: reason" for error messages. */
export function describeZodError(err: z.ZodError, prefix = ''): { field?: string; message: string } {
  const issue = err.issues[0];
  if (!issue) return { message: 'invalid message' };
  const field = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
  return { field: field || undefined, message: field ? `${field}: ${issue.message}` : issue.message };
}
