/**
 * The REST API's logic as plain (Request) → Response functions. The route files under app/api
 * are one-line adapters, and the tests call these functions directly.
 */
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import type { Profile, ProfileFormat, ToolName } from '@bpfscope/viz';
import { TOOL_NAMES, captureOptionsSchema, describeZodError, type ServerMessage } from '@bpfscope/viz/wire';
import { OPTION_NAMES } from '@bpfscope/viz/tools';
import { ConfigError, maxUploadBytes, operatorTokenPolicy, viewerTokenPolicy, type Env } from './config';
import { STREAM_END, getHub, type Hub, type HubCapture } from './captures';
import {
  HttpError,
  canRead,
  givenToken,
  handle,
  hasOperatorToken,
  json,
  jsonError,
  readBodyCapped,
  readJsonObject,
  requireOperator,
  requireViewer,
  roleOf,
  tooLarge,
} from './http';
import { getSnapshotStore, SnapshotValidationError, type SnapshotStore } from './snapshots';
import { EXPORT_FORMATS, IMPORT_FORMATS, exportProfile, importProfile, type ExportFormat } from './viz';

const gunzip = promisify(zlib.gunzip);

/** Injection points for tests; route handlers use the process-wide singletons. */
export interface Deps {
  store: () => SnapshotStore;
  hub: () => Hub;
  env: Env;
}
const defaultDeps: Deps = { store: getSnapshotStore, hub: getHub, env: process.env };
function deps(d?: Partial<Deps>): Deps {
  return { ...defaultDeps, env: process.env, ...d };
}

const notFound = (what: string, id: string) => new HttpError(404, `no ${what} with id "${id.slice(0, 64)}"`);

// ---------------------------------------------------------------- collectors

/** `?label=key=value` (repeatable, all must match) → the filter; throws 400 naming a malformed one. */
export function labelFilter(u: URL): [string, string][] {
  return u.searchParams.getAll('label').map((kv) => {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new HttpError(400, `label: expected key=value, got ${JSON.stringify(kv.slice(0, 80))}`, { field: 'label' });
    return [kv.slice(0, eq), kv.slice(eq + 1)];
  });
}

export function listCollectors(req: Request, d?: Partial<Deps>): Promise<Response> {
  const { hub, env } = deps(d);
  return handle(async () => {
    requireViewer(req, env);
    const filter = labelFilter(new URL(req.url, 'http://x'));
    let configs;
    try {
      configs = hub().collectorList();
    } catch (e) {
      if (e instanceof ConfigError) throw new HttpError(500, e.message);
      throw e;
    }
    configs = configs.filter((c) => filter.every(([k, v]) => c.labels?.[k] === v));
    const collectors = await Promise.all(
      configs.map(async (cfg) => {
        const client = hub().client(cfg.id)!;
        const h = await client.health();
        const w = client.welcome;
        return {
          id: cfg.id,
          name: cfg.name,
          url: cfg.url,
          joined: cfg.joined === true,
          labels: cfg.labels ?? {},
          lastSeen: client.connected && !cfg.joined ? Date.now() : client.lastSeen || null,
          healthy: h.healthy,
          health: h.health,
          ...(h.error ? { error: h.error } : {}),
          connected: client.connected,
          ...(w ? { host: w.host, kernel: w.kernel, tools: w.tools, privileged: w.privileged, btf: w.btf, cpus: w.cpus, limits: w.limits } : {}),
        };
      }),
    );
    return json({ collectors });
  });
}

/** DELETE /api/collectors/<id>: forget a joined host (a connected one is disconnected and does not rejoin). */
export function removeCollector(req: Request, id: string, d?: Partial<Deps>): Promise<Response> {
  const { hub, env } = deps(d);
  return handle(() => {
    requireOperator(req, env);
    hub().removeHost(id);
    return new Response(null, { status: 204 });
  });
}

/** GET /api/collectors/<id>/probes?q=vfs_re[&pid=N] → {matches, total, scope, error?}: the probe picker's suggestions. */
export function collectorProbes(req: Request, id: string, d?: Partial<Deps>): Promise<Response> {
  const { hub, env } = deps(d);
  return handle(async () => {
    requireViewer(req, env);
    const client = hub().client(id);
    if (!client) throw notFound('collector', id);
    const u = new URL(req.url);
    const q = u.searchParams.get('q') ?? '';
    if (q.length > 512) throw new HttpError(400, 'q: at most 512 characters', { field: 'q' });
    const pidRaw = u.searchParams.get('pid');
    const pid = pidRaw ? Number(pidRaw) : undefined;
    if (pid !== undefined && (!Number.isInteger(pid) || pid <= 0)) throw new HttpError(400, 'pid: must be a positive integer', { field: 'pid' });
    try {
      return json(await client.probes(q, pid));
    } catch (e) {
      throw new HttpError(503, (e as Error).message);
    }
  });
}

export function collectorProcesses(req: Request, id: string, d?: Partial<Deps>): Promise<Response> {
  const { hub, env } = deps(d);
  return handle(async () => {
    requireViewer(req, env);
    const client = hub().client(id);
    if (!client) throw notFound('collector', id);
    try {
      return json({ processes: await client.processes() });
    } catch (e) {
      throw new HttpError(503, (e as Error).message);
    }
  });
}

// ---------------------------------------------------------------- captures

const CAPTURE_KEYS = new Set(['tool', 'durationSec', 'options', 'collector', 'hosts', 'selector', 'save', 'name', 'notes']);

/** Validates a POST /api/captures body; throws 400 naming the field. */
export function parseCaptureBody(body: Record<string, unknown>) {
  for (const k of Object.keys(body))
    if (!CAPTURE_KEYS.has(k))
      throw new HttpError(400, `unknown field "${k}"; expected tool, durationSec, options, collector, hosts, selector, save, name, notes`, { field: k });
  const tool = body.tool;
  if (typeof tool !== 'string' || !(TOOL_NAMES as readonly string[]).includes(tool))
    throw new HttpError(400, `tool: must be one of ${TOOL_NAMES.join(', ')}${tool === undefined ? ' (missing)' : `, got ${JSON.stringify(tool)}`}`, {
      field: 'tool',
    });
  const dur = body.durationSec;
  if (typeof dur !== 'number' || !Number.isFinite(dur) || dur <= 0 || dur > 86400)
    throw new HttpError(400, `durationSec: must be a number of seconds > 0 and <= 86400${dur === undefined ? ' (missing)' : `, got ${JSON.stringify(dur)}`}`, {
      field: 'durationSec',
    });
  const rawOpts = body.options ?? {};
  if (typeof rawOpts !== 'object' || rawOpts === null || Array.isArray(rawOpts)) throw new HttpError(400, 'options: must be an object', { field: 'options' });
  const parsed = captureOptionsSchema.safeParse(rawOpts);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    let field: string | undefined;
    let message: string;
    if (issue && issue.code === 'unrecognized_keys') {
      field = `options.${issue.keys[0]}`;
      message = `${field}: unknown option (known: ${OPTION_NAMES.join(', ')})`;
    } else {
      const dz = describeZodError(parsed.error, 'options');
      field = dz.field;
      message = dz.message;
    }
    throw new HttpError(400, message, { field });
  }
  const collector = body.collector ?? 'local';
  if (typeof collector !== 'string' || !collector) throw new HttpError(400, 'collector: must be a collector id string such as "local"', { field: 'collector' });
  const picks = ['collector', 'hosts', 'selector'].filter((k) => body[k] !== undefined);
  if (picks.length > 1) throw new HttpError(400, `${picks[1]}: give one of collector, hosts or selector, not ${picks.join(' and ')}`, { field: picks[1] });
  let hosts: string[] | undefined;
  if (body.hosts !== undefined) {
    if (!Array.isArray(body.hosts) || body.hosts.length === 0) throw new HttpError(400, 'hosts: must be a non-empty array of host names', { field: 'hosts' });
    body.hosts.forEach((h, i) => {
      if (typeof h !== 'string' || !h || h.length > 64) throw new HttpError(400, `hosts.${i}: must be a host name string`, { field: `hosts.${i}` });
    });
    hosts = body.hosts as string[];
  }
  let selector: Record<string, string> | undefined;
  if (body.selector !== undefined) {
    const sel = body.selector;
    if (!sel || typeof sel !== 'object' || Array.isArray(sel) || Object.keys(sel).length === 0)
      throw new HttpError(400, 'selector: must be an object of labels such as {"role":"db"}', { field: 'selector' });
    for (const [k, v] of Object.entries(sel))
      if (typeof v !== 'string') throw new HttpError(400, `selector.${k}: must be a string`, { field: `selector.${k}` });
    selector = sel as Record<string, string>;
  }
  if (body.save !== undefined && typeof body.save !== 'boolean') throw new HttpError(400, 'save: must be true or false', { field: 'save' });
  for (const k of ['name', 'notes'] as const) {
    const v = body[k];
    if (v !== undefined && typeof v !== 'string') throw new HttpError(400, `${k}: must be a string`, { field: k });
  }
  if (typeof body.name === 'string' && body.name.length > 200) throw new HttpError(400, 'name: at most 200 characters', { field: 'name' });
  return {
    tool: tool as ToolName,
    durationSec: dur,
    options: parsed.data,
    collector,
    ...(hosts ? { hosts } : {}),
    ...(selector ? { selector } : {}),
    save: body.save !== false,
    name: body.name as string | undefined,
    notes: body.notes as string | undefined,
  };
}

export function createCapture(req: Request, d?: Partial<Deps>): Promise<Response> {
  const { hub, env } = deps(d);
  return handle(async () => {
    requireOperator(req, env);
    const body = parseCaptureBody(await readJsonObject(req));
    // the hub's refusals are HttpErrors (status and field), answered as they are
    const cap = await hub().start(body);
    return json({ id: cap.id, url: `/api/captures/${cap.id}`, events: `/api/captures/${cap.id}/events` }, 202);
  });
}

/** GET /api/captures → {"captures":[…]} (running and recently finished, newest first); lets a reloaded page find its capture. */
export function listCaptures(req: Request, d?: Partial<Deps>): Promise<Response> {
  const { hub, env } = deps(d);
  return handle(
    () =>
      requireViewer(req, env) ??
      json({
        captures: hub()
          .list()
          .map((c) => c.toJSON()),
      }),
  );
}

function findCapture(hub: Hub, id: string): HubCapture {
  const cap = hub.get(id);
  if (!cap) throw notFound('capture', id);
  return cap;
}

export function getCapture(req: Request, id: string, d?: Partial<Deps>): Promise<Response> {
  const { hub, env } = deps(d);
  return handle(() => requireViewer(req, env) ?? json(findCapture(hub(), id).toJSON()));
}

export function stopCapture(req: Request, id: string, d?: Partial<Deps>): Promise<Response> {
  const { hub, env } = deps(d);
  return handle(() => {
    requireOperator(req, env);
    const cap = findCapture(hub(), id);
    hub().stop(cap);
    return json({ id: cap.id, state: cap.state, stopping: true });
  });
}

export function cancelCapture(req: Request, id: string, d?: Partial<Deps>): Promise<Response> {
  const { hub, env } = deps(d);
  return handle(() => {
    requireOperator(req, env);
    const cap = findCapture(hub(), id);
    hub().cancel(cap);
    return json({ id: cap.id, state: cap.state });
  });
}

export function snapshotCapture(req: Request, id: string, d?: Partial<Deps>): Promise<Response> {
  const { hub, env } = deps(d);
  return handle(async () => {
    requireOperator(req, env);
    const cap = findCapture(hub(), id);
    const body = await readJsonObject(req);
    for (const k of Object.keys(body)) if (k !== 'name' && k !== 'notes') throw new HttpError(400, `unknown field "${k}"; expected name, notes`, { field: k });
    if (typeof body.name !== 'string' || !body.name.trim()) throw new HttpError(400, 'name: a non-empty string is required', { field: 'name' });
    if (body.notes !== undefined && typeof body.notes !== 'string') throw new HttpError(400, 'notes: must be a string', { field: 'notes' });
    try {
      const sid = await hub().saveSnapshot(cap, body.name, body.notes as string | undefined);
      return json({ id: sid, url: `/s/${sid}` }, 201);
    } catch (e) {
      if (e instanceof SnapshotValidationError) throw new HttpError(400, e.message, { field: e.field });
      throw e;
    }
  });
}

const enc = new TextEncoder();

/**
 * Server-Sent Events: each event's data is one ServerMessage. A subscriber first gets `started`,
 * earlier notices and one `full` delta, then live messages; the stream ends after the capture ends.
 */
export function captureEvents(req: Request, id: string, d?: Partial<Deps>): Promise<Response> {
  const { hub, env } = deps(d);
  return handle(() => {
    requireViewer(req, env);
    const cap = findCapture(hub(), id);
    let unsubscribe: (() => void) | null = null;
    let keepalive: ReturnType<typeof setInterval> | null = null;
    let closed = false;
    const stream = new ReadableStream<Uint8Array>(
      {
        start(controller) {
          const close = () => {
            if (closed) return;
            closed = true;
            unsubscribe?.();
            if (keepalive) clearInterval(keepalive);
            try {
              controller.close();
            } catch {
              /* already closed */
            }
          };
          let replaying = true;
          const send = (m: ServerMessage) => {
            if (closed) return;
            controller.enqueue(enc.encode(`data: ${JSON.stringify(m)}\n\n`));
            // a reader that falls far behind on live messages is dropped rather than buffering
            // without bound (the initial replay may be large by itself and is always sent)
            if (!replaying && (controller.desiredSize ?? 0) < 0) {
              controller.enqueue(
                enc.encode(
                  `data: ${JSON.stringify({ type: 'error', captureId: cap.id, code: 'too_slow', message: 'this stream fell too far behind; reload to resubscribe' })}\n\n`,
                ),
              );
              close();
            }
          };
          controller.enqueue(enc.encode(`retry: 2000\n\n`));
          for (const m of cap.replay()) send(m);
          replaying = false;
          if (cap.finished) {
            close();
            return;
          }
          unsubscribe = cap.subscribe((m) => {
            if (m.type === 'notice' && m.code === STREAM_END) close();
            else send(m);
          });
          keepalive = setInterval(() => {
            if (!closed) controller.enqueue(enc.encode(`: keepalive\n\n`));
          }, 15000);
          req.signal?.addEventListener('abort', close);
        },
        cancel() {
          closed = true;
          unsubscribe?.();
          if (keepalive) clearInterval(keepalive);
        },
      },
      new ByteLengthQueuingStrategy({ highWaterMark: 64 * 1024 * 1024 }),
    );
    return new Response(stream, {
      status: 200,
      headers: {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
        'X-Content-Type-Options': 'nosniff',
      },
    });
  });
}

// ---------------------------------------------------------------- snapshots

export function listSnapshots(req: Request, d?: Partial<Deps>): Promise<Response> {
  const { store, env } = deps(d);
  return handle(async () => {
    requireViewer(req, env);
    const url = new URL(req.url);
    const q = url.searchParams.get('q') ?? undefined;
    const limitRaw = url.searchParams.get('limit');
    let limit = 1000;
    if (limitRaw !== null) {
      limit = Number(limitRaw);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10000) throw new HttpError(400, 'limit: must be an integer from 1 to 10000', { field: 'limit' });
    }
    if (q && q.length > 500) throw new HttpError(400, 'q: at most 500 characters', { field: 'q' });
    return json({ snapshots: await store().list(q, limit) });
  });
}

const FORMAT_ALIASES: Record<string, ProfileFormat> = {
  perf: 'perf-script',
  perfscript: 'perf-script',
  'perf-script': 'perf-script',
  json: 'bpfscope',
  pb: 'pprof',
};

/** POST /api/snapshots?name=…[&format=…][&notes=…][&fileName=…] with a profile file as the body. */
export function uploadSnapshot(req: Request, d?: Partial<Deps>): Promise<Response> {
  const { store, env } = deps(d);
  return handle(async () => {
    requireOperator(req, env);
    const url = new URL(req.url);
    const p = url.searchParams;
    let format: ProfileFormat | undefined;
    const fmt = p.get('format');
    if (fmt) {
      const f = (IMPORT_FORMATS as readonly string[]).includes(fmt) ? (fmt as ProfileFormat) : FORMAT_ALIASES[fmt.toLowerCase()];
      if (!f)
        throw new HttpError(400, `format: "${fmt.slice(0, 40)}" is not an import format; use one of ${IMPORT_FORMATS.join(', ')} or leave it out to detect`, {
          field: 'format',
        });
      format = f;
    }
    const name = p.get('name') ?? undefined;
    const notes = p.get('notes') ?? undefined;
    let fileName = p.get('fileName') ?? p.get('filename') ?? undefined;
    if (name && name.length > 200) throw new HttpError(400, 'name: at most 200 characters', { field: 'name' });
    if (fileName && fileName.length > 500) throw new HttpError(400, 'fileName: at most 500 characters', { field: 'fileName' });
    const max = maxUploadBytes(env);
    let bytes = await readBodyCapped(req, max);
    if (bytes.length === 0)
      throw new HttpError(
        400,
        'the request body is empty: send the profile file as the body (folded, perf script, pprof, bpftrace, speedscope or bpfscope JSON)',
      );
    // gzip: unpack here (with the same cap on the unpacked size) so every importer sees plain data
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
      try {
        bytes = new Uint8Array(await gunzip(bytes, { maxOutputLength: max }));
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) throw tooLarge(max);
        throw new HttpError(400, `the body looks gzip-compressed but does not decompress: ${err.message}`);
      }
      if (fileName) fileName = fileName.replace(/\.gz$/i, '');
    }
    // bytes go to the importer as they are: it decodes UTF-8 text itself and keeps protobuf binary
    const input: Uint8Array = bytes;
    let profile: Profile;
    try {
      profile = importProfile(input, { fileName, format });
    } catch (e) {
      const m = (e as Error).message || String(e);
      throw new HttpError(400, `could not import the file${fileName ? ` ${JSON.stringify(fileName)}` : ''}: ${m}`);
    }
    if (!profile || !Array.isArray(profile.stacks)) throw new HttpError(400, 'could not import the file: the importer returned no profile');
    if (profile.stacks.length === 0 && !profile.histograms?.intervals.length)
      throw new HttpError(400, `the file${fileName ? ` ${JSON.stringify(fileName)}` : ''} holds no stacks or samples`);
    const meta = profile.meta ?? {};
    const withMeta: Profile = {
      ...profile,
      meta: {
        ...meta,
        tool: meta.tool ?? 'import',
        source: meta.source ?? { format: format ?? 'folded', fileName },
        ...(fileName && meta.source && !meta.source.fileName ? { source: { ...meta.source, fileName } } : {}),
      },
    };
    try {
      const saved = await store().save(withMeta, { name: name ?? fileName, notes });
      return json({ id: saved.id, url: `/s/${saved.id}` }, 201, { Location: `/s/${saved.id}` });
    } catch (e) {
      if (e instanceof SnapshotValidationError) throw new HttpError(400, e.message, { field: e.field });
      throw e;
    }
  });
}

function safeFileName(name: string, ext: string): { ascii: string; utf8: string } {
  const base =
    name
      .replace(/[^\p{L}\p{N}._-]+/gu, '_')
      .replace(/^[._]+/, '')
      .slice(0, 80) || 'snapshot';
  return { ascii: (base.replace(/[^A-Za-z0-9._-]/g, '_') || 'snapshot') + '.' + ext, utf8: encodeURIComponent(base + '.' + ext) };
}

function disposition(kind: 'inline' | 'attachment', name: string, ext: string): string {
  const f = safeFileName(name, ext);
  return `${kind}; filename="${f.ascii}"; filename*=UTF-8''${f.utf8}`;
}

/** GET /api/snapshots/<id>?format=json|folded|pprof|speedscope|svg[&download=1] */
export function getSnapshot(req: Request, id: string, d?: Partial<Deps>): Promise<Response> {
  const { store, env } = deps(d);
  return handle(async () => {
    requireViewer(req, env);
    return snapshotResponse(req, id, store());
  });
}

/**
 * GET /api/public/<token>?format=…: a snapshot its owner made public, for anyone holding the link
 * (no other credential). An unknown or revoked token is 404, like an unknown id.
 */
export function getPublicSnapshot(req: Request, token: string, d?: Partial<Deps>): Promise<Response> {
  const { store } = deps(d);
  return handle(async () => {
    const id = await store().findPublic(token);
    if (!id) throw new HttpError(404, 'no public snapshot at this link (it may have been made private or deleted)');
    return snapshotResponse(req, id, store());
  });
}

/**
 * POST /api/snapshots/<id>/public → {"token","url":"/p/<token>"} makes the snapshot readable by
 * anyone with the link (an unguessable 131-bit token); DELETE makes it private again (the link
 * stops working). Operator only.
 */
export function setSnapshotPublic(req: Request, id: string, on: boolean, d?: Partial<Deps>): Promise<Response> {
  const { store, env } = deps(d);
  return handle(async () => {
    requireOperator(req, env);
    const token = await store().setPublic(id, on);
    if (token === undefined) throw notFound('snapshot', id);
    return json(token ? { id, public: true, token, url: `/p/${token}` } : { id, public: false });
  });
}

async function snapshotResponse(req: Request, id: string, store: SnapshotStore): Promise<Response> {
  const url = new URL(req.url);
  const format = (url.searchParams.get('format') ?? 'json') as ExportFormat;
  if (!(EXPORT_FORMATS as readonly string[]).includes(format))
    throw new HttpError(400, `format: must be one of ${EXPORT_FORMATS.join(', ')}`, { field: 'format' });
  const download = url.searchParams.get('download');
  if (format === 'json') {
    const s = await store.getApiJsonText(id);
    if (!s) throw notFound('snapshot', id);
    return new Response(s.text, {
      status: 200,
      headers: {
        'Content-Type': 'application/json; charset=utf-8',
        'X-Content-Type-Options': 'nosniff',
        'Content-Disposition': disposition(download ? 'attachment' : 'inline', s.snapshot.name, 'bpfscope.json'),
        'Cache-Control': 'private, max-age=0, must-revalidate',
      },
    });
  }
  const s = await store.get(id);
  if (!s) throw notFound('snapshot', id);
  const out = exportProfile(s.profile, format);
  const body = out.body;
  let ext = out.ext;
  if (format === 'pprof' && typeof body !== 'string') ext = body[0] === 0x1f && body[1] === 0x8b ? 'pb.gz' : 'pb';
  return new Response(body as BodyInit, {
    status: 200,
    headers: {
      'Content-Type': out.contentType,
      'Content-Disposition': disposition(format === 'svg' && !download ? 'inline' : 'attachment', s.snapshot.name, ext),
      'X-Content-Type-Options': 'nosniff',
      // an exported SVG holds untrusted frame names: never let it run script on this origin
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox",
      'Cache-Control': 'private, max-age=0, must-revalidate',
    },
  });
}

export function deleteSnapshot(req: Request, id: string, d?: Partial<Deps>): Promise<Response> {
  const { store, env } = deps(d);
  return handle(async () => {
    requireOperator(req, env);
    if (!(await store().delete(id))) throw notFound('snapshot', id);
    return new Response(null, { status: 204, headers: { 'Cache-Control': 'no-store' } });
  });
}

// ---------------------------------------------------------------- session (viewer or operator)

/**
 * GET /api/session → {"required", "authorized", "readRequired", "canRead", "role"}: does this
 * console need the operator token (`required`) and does this browser hold it (`authorized`); does
 * reading need a token (`readRequired`, off loopback) and may this browser read (`canRead`);
 * `role` is "operator", "viewer" or null (what the presented token grants).
 */
export function getSession(req: Request, d?: Partial<Deps>): Promise<Response> {
  const { env } = deps(d);
  return handle(() => {
    const policy = operatorTokenPolicy(env);
    return json({
      required: policy.required,
      authorized: !policy.required || hasOperatorToken(req, env),
      readRequired: viewerTokenPolicy(env).required,
      canRead: canRead(req, env),
      role: roleOf(givenToken(req), env),
    });
  });
}

/**
 * POST /api/session {"token"} → 204 and an HttpOnly SameSite=Strict cookie holding the token, so
 * the browser can read (viewer token) or also capture/import/delete (operator token) on a console
 * that listens beyond loopback; a token that is neither → 401.
 */
export function createSession(req: Request, d?: Partial<Deps>): Promise<Response> {
  const { env } = deps(d);
  return handle(async () => {
    requireSameOrigin(req);
    const body = await readJsonObject(req);
    if (typeof body.token !== 'string' || !body.token)
      throw new HttpError(400, 'token: the viewer token (BPFSCOPE_VIEW_TOKEN) or the operator token (BPFSCOPE_WEB_TOKEN) is required', { field: 'token' });
    if (!operatorTokenPolicy(env).token && !viewerTokenPolicy(env).token)
      throw new HttpError(400, 'this console has no token configured (neither BPFSCOPE_WEB_TOKEN nor BPFSCOPE_VIEW_TOKEN is set)');
    if (!roleOf(body.token, env)) throw new HttpError(401, 'wrong token');
    const secure = new URL(req.url).protocol === 'https:' ? '; Secure' : '';
    return new Response(null, {
      status: 204,
      headers: {
        'Set-Cookie': `bpfscope_token=${encodeURIComponent(body.token)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000${secure}`,
        'Cache-Control': 'no-store',
      },
    });
  });
}

/** DELETE /api/session → 204, clears the cookie. */
export function deleteSession(_req: Request): Promise<Response> {
  return handle(
    () =>
      new Response(null, {
        status: 204,
        headers: { 'Set-Cookie': 'bpfscope_token=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0', 'Cache-Control': 'no-store' },
      }),
  );
}

function requireSameOrigin(req: Request): void {
  if (req.headers.get('sec-fetch-site') === 'cross-site') throw new HttpError(403, 'cross-site requests may not sign in');
}

export { jsonError };
