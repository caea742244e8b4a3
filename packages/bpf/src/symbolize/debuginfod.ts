/**
 * A debuginfod client (the HTTP protocol: GET <server>/buildid/<hex>/debuginfo) for the
 * symbolizer: background fetches that never block or fail a capture.
 *
 * - Servers from DEBUGINFOD_URLS (space-separated, tried in order), as elfutils and gdb read it.
 * - Cache: the standard client cache layout <cache>/<build-id>/debuginfo, in $DEBUGINFOD_CACHE_PATH,
 *   else $XDG_CACHE_HOME/debuginfod_client, else ~/.cache/debuginfod_client — files fetched by
 *   gdb/perf/eu-* are reused and ours are theirs. Written to a temporary name, renamed when
 *   complete and checked (an ELF file whose build-id is the one asked for).
 * - Bounds: a timeout per request (connect + whole body), a size limit per file (the transfer is cut
 *   when the body exceeds it, whatever Content-Length said), a total byte budget per client, a cap
 *   on concurrent fetches; a miss (404, error, timeout) is remembered and not asked again for
 *   `retryMs`.
 */
import { mkdirSync, renameSync, rmSync, statSync, createWriteStream, existsSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ElfFile } from './elf.js';

export interface DebuginfodOptions {
  /** server base URLs (default: DEBUGINFOD_URLS split on whitespace) */
  urls?: string[];
  /** cache directory (default: the standard client cache, see above) */
  cacheDir?: string;
  /** per request, connect to last byte (default 10 s; DEBUGINFOD_TIMEOUT in seconds when set) */
  timeoutMs?: number;
  /** largest file accepted (default 512 MiB; DEBUGINFOD_MAXSIZE in bytes when set) */
  maxBytes?: number;
  /** bytes this client may download in all (default 4 GiB) */
  budgetBytes?: number;
  /** fetches at a time (default 2) */
  concurrency?: number;
  /** a build-id that could not be fetched is asked again after this long (default 10 min) */
  retryMs?: number;
}

export interface DebuginfodStats {
  requested: number;
  fetched: number;
  cached: number;
  notFound: number;
  failed: number;
  timeouts: number;
  tooLarge: number;
  bytes: number;
  /** the last failure, for diagnostics */
  lastError?: string;
}

/** Options from the environment, or undefined when DEBUGINFOD_URLS is not set (no lookups). */
export function debuginfodFromEnv(env: NodeJS.ProcessEnv = process.env): DebuginfodOptions | undefined {
  const urls = (env.DEBUGINFOD_URLS ?? '').split(/\s+/).filter(Boolean);
  if (urls.length === 0) return undefined;
  const o: DebuginfodOptions = { urls };
  const t = Number(env.DEBUGINFOD_TIMEOUT);
  if (env.DEBUGINFOD_TIMEOUT && Number.isFinite(t) && t > 0) o.timeoutMs = t * 1000;
  const m = Number(env.DEBUGINFOD_MAXSIZE);
  if (env.DEBUGINFOD_MAXSIZE && Number.isFinite(m) && m > 0) o.maxBytes = m;
  return o;
}

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DEBUGINFOD_CACHE_PATH) return env.DEBUGINFOD_CACHE_PATH;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'debuginfod_client');
  return join(homedir(), '.cache', 'debuginfod_client');
}

const BUILD_ID = /^[0-9a-f]{8,128}$/;

export class DebuginfodClient {
  readonly urls: string[];
  readonly cacheDir: string;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly budget: number;
  private readonly concurrency: number;
  private readonly retryMs: number;
  private readonly pending = new Map<string, Promise<string | undefined>>();
  private readonly missedAt = new Map<string, number>();
  private readonly queue: Array<() => void> = [];
  private active = 0;
  private closed = false;
  private readonly requests = new Set<http.ClientRequest>();
  readonly stats: DebuginfodStats = { requested: 0, fetched: 0, cached: 0, notFound: 0, failed: 0, timeouts: 0, tooLarge: 0, bytes: 0 };

  constructor(opts: DebuginfodOptions) {
    this.urls = (opts.urls ?? []).map((u) => u.replace(/\/+$/, '')).filter((u) => /^https?:\/\//.test(u));
    this.cacheDir = opts.cacheDir ?? defaultCacheDir();
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.maxBytes = opts.maxBytes ?? 512 * 1024 * 1024;
    this.budget = opts.budgetBytes ?? 4 * 1024 * 1024 * 1024;
    this.concurrency = Math.max(1, opts.concurrency ?? 2);
    this.retryMs = opts.retryMs ?? 10 * 60_000;
  }

  /** The cached debug file of a build-id, when it is already on disk (no network). */
  cachedPath(buildId: string): string | undefined {
    if (!BUILD_ID.test(buildId)) return undefined;
    const p = join(this.cacheDir, buildId, 'debuginfo');
    try {
      return statSync(p).isFile() ? p : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Start (or join) a background fetch of a build-id's debug file; resolves with its cached path,
   * or undefined when no server has it (never rejects). Returns undefined right away when the
   * build-id missed recently or the client is closed.
   */
  fetch(buildId: string): Promise<string | undefined> | undefined {
    if (this.closed || this.urls.length === 0 || !BUILD_ID.test(buildId)) return undefined;
    const p0 = this.pending.get(buildId);
    if (p0) return p0;
    const missed = this.missedAt.get(buildId);
    if (missed !== undefined && Date.now() - missed < this.retryMs) return undefined;
    const hit = this.cachedPath(buildId);
    if (hit) {
      this.stats.cached++;
      return Promise.resolve(hit);
    }
    this.stats.requested++;
    const p = new Promise<string | undefined>((resolve) => {
      const start = () => {
        this.active++;
        this.fetchAll(buildId)
          .catch((e: Error) => {
            this.stats.failed++;
            this.stats.lastError = e.message;
            return undefined;
          })
          .then((path) => {
            if (!path) this.missedAt.set(buildId, Date.now());
            this.pending.delete(buildId);
            this.active--;
            this.queue.shift()?.();
            resolve(path);
          });
      };
      if (this.active < this.concurrency) start();
      else this.queue.push(start);
    });
    this.pending.set(buildId, p);
    return p;
  }

  /** Resolves when no fetch is under way (those started meanwhile included). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending.values()]);
  }

  /** Abort every transfer; later fetch() calls do nothing. */
  close(): void {
    this.closed = true;
    for (const r of this.requests) r.destroy(new Error('debuginfod client closed'));
    this.requests.clear();
  }

  private async fetchAll(buildId: string): Promise<string | undefined> {
    for (const base of this.urls) {
      if (this.closed) return undefined;
      const r = await this.fetchOne(`${base}/buildid/${buildId}/debuginfo`, buildId);
      if (r) return r;
    }
    return undefined;
  }

  private fetchOne(url: string, buildId: string): Promise<string | undefined> {
    const dir = join(this.cacheDir, buildId);
    const final = join(dir, 'debuginfo');
    const tmp = join(dir, `.debuginfo.bpfscope.${process.pid}.${Date.now()}.tmp`);
    return new Promise((resolve) => {
      let done = false;
      let out: ReturnType<typeof createWriteStream> | undefined;
      const finish = (path: string | undefined, why?: string, counter?: keyof DebuginfodStats) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.requests.delete(req);
        if (counter) (this.stats[counter] as number)++;
        if (why) this.stats.lastError = `${url}: ${why}`;
        const cleanup = () => {
          if (!path) rmSync(tmp, { force: true });
          resolve(path);
        };
        if (out && !out.closed) {
          out.once('close', cleanup);
          out.destroy();
        } else cleanup();
        if (!req.destroyed) req.destroy();
      };
      const mod = url.startsWith('https:') ? https : http;
      const req = mod.get(url, { headers: { 'User-Agent': 'bpfscope', Accept: '*/*' } });
      this.requests.add(req);
      const timer = setTimeout(() => finish(undefined, `no complete answer within ${this.timeoutMs} ms`, 'timeouts'), this.timeoutMs);
      timer.unref?.();
      req.on('error', (e) => finish(undefined, e.message, 'failed'));
      req.on('response', (res) => {
        if (res.statusCode === 404) {
          res.resume();
          return finish(undefined, 'not found', 'notFound');
        }
        if (res.statusCode !== 200) {
          res.resume();
          return finish(undefined, `HTTP ${res.statusCode}`, 'failed');
        }
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > this.maxBytes)
          return finish(undefined, `file of ${declared} bytes is over the ${this.maxBytes}-byte limit`, 'tooLarge');
        try {
          mkdirSync(dir, { recursive: true, mode: 0o700 });
          out = createWriteStream(tmp, { mode: 0o600 });
        } catch (e) {
          return finish(undefined, (e as Error).message, 'failed');
        }
        out.on('error', (e) => finish(undefined, e.message, 'failed'));
        let got = 0;
        res.on('data', (chunk: Buffer) => {
          got += chunk.length;
          this.stats.bytes += chunk.length;
          if (got > this.maxBytes) return finish(undefined, `file over the ${this.maxBytes}-byte limit`, 'tooLarge');
          if (this.stats.bytes > this.budget) return finish(undefined, `download budget of ${this.budget} bytes spent`, 'tooLarge');
          if (!out!.write(chunk)) {
            res.pause();
            out!.once('drain', () => res.resume());
          }
        });
        res.on('error', (e) => finish(undefined, e.message, 'failed'));
        res.on('end', () => {
          if (done) return;
          out!.end(() => {
            if (done) return;
            // only an ELF file of the build-id asked for enters the cache
            let ok = false;
            try {
              const f = ElfFile.open(tmp);
              ok = f.buildId === buildId;
              f.close();
            } catch {
              ok = false;
            }
            if (!ok) return finish(undefined, 'the answer is not an ELF file of that build-id', 'failed');
            try {
              renameSync(tmp, final);
            } catch (e) {
              return finish(undefined, (e as Error).message, 'failed');
            }
            this.stats.fetched++;
            finish(existsSync(final) ? final : undefined);
          });
        });
      });
    });
  }
}
