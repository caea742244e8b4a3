/**
 * Browser-side calls to the hub's REST API. Every failure becomes an Error whose message is the
 * server's `{"error"}` text when there is one, else the HTTP status in words.
 */

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

async function errorFrom(res: Response, what: string): Promise<ApiError> {
  let text = '';
  try {
    text = await res.text();
  } catch {
    /* body unreadable */
  }
  let msg = '';
  try {
    const j = JSON.parse(text) as { error?: unknown };
    if (typeof j?.error === 'string') msg = j.error;
  } catch {
    /* not JSON */
  }
  if (!msg) {
    if (res.status === 401 || res.status === 403) msg = 'not allowed: this console needs a token for this action (sign in at /signin)';
    else if (res.status === 404) msg = 'not found';
    else if (res.status === 413) msg = 'the file is too large for this console (BPFSCOPE_MAX_UPLOAD_MB)';
    else msg = `HTTP ${res.status} ${res.statusText}`.trim();
  }
  return new ApiError(`${what}: ${msg}`, res.status);
}

export async function apiJson<T>(url: string, what: string, init?: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { cache: 'no-store', ...init, headers: { accept: 'application/json', ...(init?.headers ?? {}) } });
  } catch (e) {
    throw new ApiError(`${what}: the console server did not answer (${(e as Error).message})`, 0);
  }
  if (!res.ok) throw await errorFrom(res, what);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export function postJson<T>(url: string, body: unknown, what: string): Promise<T> {
  return apiJson<T>(url, what, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
}

// ---- typed shapes of the hub API (see the web contract) ----

export interface CollectorInfo {
  id: string;
  name: string;
  url: string;
  healthy: boolean;
  health: Record<string, unknown> | null;
  error?: string;
  /** joined from its side (`bpfscope serve --hub`): removable from the console. */
  joined?: boolean;
  labels?: Record<string, string>;
  /** epoch ms of the last message or ping answer; null: never. */
  lastSeen?: number | null;
}

export interface ProcessInfo {
  pid: number;
  comm: string;
  cmdline: string;
}

export interface SnapshotSummary {
  id: string;
  name: string;
  tool: string;
  host: string;
  createdAt: string | number;
  total: number;
  unit: string;
}

export interface SnapshotMeta extends SnapshotSummary {
  notes?: string;
  kernel?: string;
  options?: Record<string, unknown>;
  loss?: Record<string, number>;
  durationMs?: number;
  /** set when the snapshot is public: its link is /p/<publicToken>. */
  publicToken?: string | null;
}

export const api = {
  collectors: () => apiJson<{ collectors: CollectorInfo[] }>('/api/collectors', 'Listing collectors'),
  removeCollector: (id: string) => apiJson<unknown>(`/api/collectors/${encodeURIComponent(id)}`, 'Removing the host', { method: 'DELETE' }),
  processes: (collector: string) => apiJson<{ processes: ProcessInfo[] }>(`/api/collectors/${encodeURIComponent(collector)}/processes`, 'Listing processes'),
  startCapture: (body: unknown) => postJson<{ id: string }>('/api/captures', body, 'Starting the capture'),
  stopCapture: (id: string) => apiJson<unknown>(`/api/captures/${encodeURIComponent(id)}/stop`, 'Stopping the capture', { method: 'POST' }),
  cancelCapture: (id: string) => apiJson<unknown>(`/api/captures/${encodeURIComponent(id)}`, 'Cancelling the capture', { method: 'DELETE' }),
  captureState: (id: string) =>
    apiJson<{ id: string; state: 'running' | 'done' | 'failed'; error?: string; snapshotId?: string }>(
      `/api/captures/${encodeURIComponent(id)}`,
      'Reading the capture state',
    ),
  saveCapture: (id: string, name: string, notes: string) =>
    postJson<{ id: string; url: string }>(`/api/captures/${encodeURIComponent(id)}/snapshot`, { name, notes: notes || undefined }, 'Saving the snapshot'),
  snapshots: (q: string) => apiJson<{ snapshots: SnapshotSummary[] }>(`/api/snapshots${q ? `?q=${encodeURIComponent(q)}` : ''}`, 'Listing snapshots'),
  snapshot: (id: string, publicToken?: string) =>
    apiJson<{ snapshot: SnapshotMeta; profile: unknown }>(
      publicToken ? `/api/public/${encodeURIComponent(publicToken)}?format=json` : `/api/snapshots/${encodeURIComponent(id)}?format=json`,
      `Loading snapshot ${id}`,
    ),
  setPublic: (id: string, on: boolean) =>
    apiJson<{ id: string; public: boolean; token?: string; url?: string }>(
      `/api/snapshots/${encodeURIComponent(id)}/public`,
      on ? 'Making the snapshot public' : 'Making the snapshot private',
      { method: on ? 'POST' : 'DELETE' },
    ),
  signIn: (token: string) => postJson<void>('/api/session', { token }, 'Signing in'),
  deleteSnapshot: (id: string) => apiJson<unknown>(`/api/snapshots/${encodeURIComponent(id)}`, 'Deleting the snapshot', { method: 'DELETE' }),
  importFile: async (file: File | Blob, fileName: string) => {
    const name = fileName.replace(/\.(gz|txt|folded|json|pb)$/i, '').replace(/\.(pb|txt|folded|json)$/i, '') || fileName;
    const url = `/api/snapshots?name=${encodeURIComponent(name)}&fileName=${encodeURIComponent(fileName)}`;
    return apiJson<{ id: string; url: string }>(url, `Importing ${fileName}`, {
      method: 'POST',
      body: file,
      headers: { 'content-type': 'application/octet-stream' },
    });
  },
};

export function exportUrl(id: string, format: 'folded' | 'pprof' | 'speedscope' | 'svg' | 'json', publicToken?: string): string {
  if (publicToken) return `/api/public/${encodeURIComponent(publicToken)}?format=${format}`;
  return `/api/snapshots/${encodeURIComponent(id)}?format=${format}`;
}
