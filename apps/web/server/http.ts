/** Small helpers for the route handlers: JSON errors, operator-token checks, capped body reads. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { BrandedError, isBrandedError } from '@bpfscope/viz/errors';
import { operatorTokenPolicy, viewerTokenPolicy, type Env } from './config';

/* The hub's long-lived objects (captures, stores) live on globalThis and outlive the route bundle
 * that created them: Next.js gives each route its own copy of this module, so an HttpError thrown by
 * the capture manager is not an instance of another route's class. BrandedError (viz/errors) makes
 * instanceof recognise every copy's errors. */
export class HttpError extends BrandedError {
  static override readonly brand = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const SEC_HEADERS = { 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' };

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json; charset=utf-8', ...SEC_HEADERS, ...headers } });
}

export function jsonError(status: number, error: string, extra: Record<string, unknown> = {}): Response {
  return json({ error, ...extra }, status);
}

/** Runs a handler and turns thrown HttpErrors (and anything else) into JSON error responses. */
export async function handle(fn: () => Promise<Response> | Response): Promise<Response> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof HttpError) return jsonError(e.status, e.message, e.extra);
    // the shared snapshot database is unreachable (snapshots-pg.ts, not imported here: it loads pg): 503, in words
    if (isBrandedError(e, 'StoreUnavailableError')) return jsonError(503, e.message);
    const err = e as Error;
    console.error('[bpfscope api]', err);
    return jsonError(500, `internal error: ${err.message}`);
  }
}

/**
 * Constant-time comparison: both sides are hashed to 32 bytes first, so neither the contents nor
 * the length of the secret leak through timing (timingSafeEqual needs equal lengths).
 */
function tokenEquals(a: string, b: string): boolean {
  const x = createHash('sha256').update(a, 'utf8').digest();
  const y = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(x, y);
}

function cookie(req: Request, name: string): string | undefined {
  const h = req.headers.get('cookie');
  if (!h) return undefined;
  for (const part of h.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/**
 * Guards capture, import and delete. Always refuses cross-site requests (a page on another origin
 * must not start captures or delete snapshots through the user's browser); when the console
 * listens on a non-loopback address, also requires BPFSCOPE_WEB_TOKEN as a Bearer token or the
 * `bpfscope_token` cookie.
 */
export function requireOperator(req: Request, env: Env = process.env): void {
  const site = req.headers.get('sec-fetch-site');
  if (site === 'cross-site') throw new HttpError(403, 'cross-site requests may not change anything; use the console itself or a script');
  const origin = req.headers.get('origin');
  if (origin && origin !== 'null') {
    const host = req.headers.get('x-forwarded-host') ?? req.headers.get('host');
    let oh: string | null = null;
    try {
      oh = new URL(origin).host;
    } catch {
      oh = null;
    }
    if (host && oh !== host) throw new HttpError(403, `requests from origin ${origin} may not change anything on this console (${host})`);
  }
  const policy = operatorTokenPolicy(env);
  if (!policy.required && !policy.token) return;
  const auth = req.headers.get('authorization');
  const given = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : cookie(req, 'bpfscope_token');
  if (policy.token && given && tokenEquals(given, policy.token)) return;
  if (!policy.required) return; // loopback: the token is optional
  if (given && roleOf(given, env) === 'viewer')
    throw new HttpError(
      403,
      'the viewer token allows browsing and exporting only; capturing, importing, deleting and sharing need the operator token (BPFSCOPE_WEB_TOKEN)',
    );
  if (!policy.token)
    throw new HttpError(403, 'this console listens on a non-loopback address and BPFSCOPE_WEB_TOKEN is not set; set it to allow captures, imports and deletes');
  throw new HttpError(
    401,
    given
      ? 'wrong operator token'
      : 'this action needs the operator token (BPFSCOPE_WEB_TOKEN) as "Authorization: Bearer <token>" or the bpfscope_token cookie',
  );
}

/** The credential a request carries: `Authorization: Bearer <token>`, else the bpfscope_token cookie. */
export function givenToken(req: { headers: Headers }): string | undefined {
  const auth = req.headers.get('authorization');
  return auth?.startsWith('Bearer ') ? auth.slice(7).trim() : cookie(req as Request, 'bpfscope_token');
}

export type Role = 'operator' | 'viewer';

/** Which role a presented token grants (both comparisons run, constant time), or null. */
export function roleOf(given: string | undefined, env: Env = process.env): Role | null {
  if (!given) return null;
  const op = operatorTokenPolicy(env).token;
  const view = viewerTokenPolicy(env).token;
  const isOp = op ? tokenEquals(given, op) : false;
  const isView = view ? tokenEquals(given, view) : false;
  return isOp ? 'operator' : isView ? 'viewer' : null;
}

/** Whether this request may read (list, view, export, follow captures): always on loopback, else with either token. */
export function canRead(req: { headers: Headers }, env: Env = process.env): boolean {
  if (!viewerTokenPolicy(env).required) return true;
  return roleOf(givenToken(req), env) !== null;
}

/**
 * Guards reading (snapshot lists and data, exports, collectors, captures and their events) when
 * the console listens beyond loopback: the viewer token (BPFSCOPE_VIEW_TOKEN) or the operator
 * token (BPFSCOPE_WEB_TOKEN), as a Bearer token or the bpfscope_token cookie. Public snapshot
 * links (/api/public/<token>) do not pass through here.
 */
export function requireViewer(req: Request, env: Env = process.env): void {
  if (canRead(req, env)) return;
  const given = givenToken(req);
  if (!viewerTokenPolicy(env).token && !operatorTokenPolicy(env).token)
    throw new HttpError(
      403,
      'this console listens on a non-loopback address and neither BPFSCOPE_VIEW_TOKEN nor BPFSCOPE_WEB_TOKEN is set; set them to allow reading',
    );
  throw new HttpError(
    401,
    given
      ? 'wrong token: reading needs the viewer token (BPFSCOPE_VIEW_TOKEN) or the operator token (BPFSCOPE_WEB_TOKEN)'
      : 'this console needs a token to read: send the viewer token (BPFSCOPE_VIEW_TOKEN) or the operator token as "Authorization: Bearer <token>", or sign in in the browser',
  );
}

/** Whether this request carries the operator token (Bearer or cookie). */
export function hasOperatorToken(req: Request, env: Env = process.env): boolean {
  const policy = operatorTokenPolicy(env);
  if (!policy.token) return false;
  const auth = req.headers.get('authorization');
  const given = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : cookie(req, 'bpfscope_token');
  return !!given && tokenEquals(given, policy.token);
}

export { tokenEquals };

/** Reads the body as bytes, refusing (413) past `max` bytes without buffering more than that. */
export async function readBodyCapped(req: Request, max: number): Promise<Uint8Array> {
  const len = req.headers.get('content-length');
  if (len && Number(len) > max) throw tooLarge(max, Number(len));
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge(max);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

export function tooLarge(max: number, got?: number): HttpError {
  const mib = (n: number) => `${(n / 1048576).toFixed(n < 1048576 ? 2 : 0)} MiB`;
  return new HttpError(413, `the upload is too large${got ? ` (${mib(got)})` : ''}: the limit is ${mib(max)} (set BPFSCOPE_MAX_UPLOAD_MB to change it)`);
}

/** Parses a JSON request body into an object, or throws 400 saying what is wrong. */
export async function readJsonObject(req: Request, max = 1 << 20): Promise<Record<string, unknown>> {
  const bytes = await readBodyCapped(req, max);
  const text = new TextDecoder().decode(bytes).trim();
  if (!text) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `the request body is not valid JSON: ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, 'the request body must be a JSON object');
  return v as Record<string, unknown>;
}
