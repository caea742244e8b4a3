/** A collector client connection (see ClientConn). */
import type { Logger } from 'pino';
import { WebSocket } from 'ws';
import { CLOSE_CODES, PROTOCOL_VERSION, messageForVersion, type ErrorMessage, type ServerMessage } from '@bpfscope/viz/wire';
import { cloneParts, mergeParts, type Capture, type DeltaParts, type Subscriber } from './capture.js';
import type { ServerConfig } from './config.js';

export type ErrorInit = Omit<ErrorMessage, 'type'>;

/** What a connection needs from the server it belongs to. */
export interface ClientHost {
  readonly config: Pick<ServerConfig, 'limits'>;
  readonly captures: ReadonlyMap<string, Capture>;
  readonly clients: Set<ClientConn>;
}

/**
 * One WebSocket client: rate limiting (token bucket), send-buffer limits, coalescing of deltas for
 * a slow reader, and the captures it watches (released when it goes).
 */
export class ClientConn implements Subscriber {
  readonly id: string;
  readonly captures = new Set<Capture>();
  helloDone = false;
  /** the protocol version the client said hello with (older clients get messages they can parse) */
  version = PROTOCOL_VERSION;
  private readonly pending = new Map<string, { parts: DeltaParts; since: number }>();
  private tokens: number;
  private lastRefill = Date.now();
  private dropped = 0;
  private lastRateError = 0;
  closed = false;

  constructor(
    readonly ws: WebSocket,
    id: number,
    readonly srv: ClientHost,
    readonly log: Logger,
  ) {
    this.id = `k${id}`;
    this.tokens = srv.config.limits.rateBurst;
  }

  /** Token bucket: true when this message may be processed. */
  admit(): boolean {
    const { rateLimitPerSec, rateBurst } = this.srv.config.limits;
    const now = Date.now();
    this.tokens = Math.min(rateBurst, this.tokens + ((now - this.lastRefill) / 1000) * rateLimitPerSec);
    this.lastRefill = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.dropped++;
    if (this.dropped > rateBurst * 10) {
      this.drop(CLOSE_CODES.rateLimited, 'rate limit exceeded repeatedly');
      return false;
    }
    if (now - this.lastRateError >= 1000) {
      this.lastRateError = now;
      this.error({ code: 'rate_limited', message: `too many messages: at most ${rateLimitPerSec}/s (burst ${rateBurst}); messages are being dropped` });
    }
    return false;
  }

  private overLimit(): boolean {
    const max = this.srv.config.limits.maxClientBufferBytes;
    if (this.ws.bufferedAmount > max) {
      this.drop(CLOSE_CODES.tooSlow, `client too slow: ${this.ws.bufferedAmount} bytes unsent (limit ${max})`);
      return true;
    }
    return false;
  }

  sendRaw(text: string): void {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return;
    if (this.overLimit()) return;
    this.ws.send(messageForVersion(text, this.version));
  }

  send(msg: ServerMessage): void {
    this.sendRaw(JSON.stringify(msg));
  }

  error(e: ErrorInit): void {
    this.send({ type: 'error', ...e });
  }

  deliver(capture: Capture, parts: DeltaParts, encode: () => string): void {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return;
    if (this.overLimit()) return;
    const { coalesceBufferBytes, maxClientLagSec } = this.srv.config.limits;
    const p = this.pending.get(capture.id);
    if (this.ws.bufferedAmount > coalesceBufferBytes) {
      if (p) {
        mergeParts(p.parts, parts);
        if (Date.now() - p.since > maxClientLagSec * 1000) this.drop(CLOSE_CODES.tooSlow, `client too slow: behind for more than ${maxClientLagSec} s`);
      } else this.pending.set(capture.id, { parts: cloneParts(parts), since: Date.now() });
      return;
    }
    if (p) {
      this.pending.delete(capture.id);
      this.sendRaw(JSON.stringify(capture.message(mergeParts(p.parts, parts))));
    } else this.sendRaw(encode());
  }

  sendAfterPending(captureId: string, msg: ServerMessage): void {
    const p = this.pending.get(captureId);
    const cap = this.srv.captures.get(captureId);
    if (p && cap) {
      this.pending.delete(captureId);
      this.sendRaw(JSON.stringify(cap.message(p.parts)));
    }
    this.send(msg);
  }

  /** captures for which deltas are being held back (coalesced) for this client. */
  get coalescing(): number {
    return this.pending.size;
  }

  forget(captureId: string): void {
    this.pending.delete(captureId);
    for (const c of this.captures) if (c.id === captureId) this.captures.delete(c);
  }

  /** Close with a code and reason, and release this client's captures now (not when the close handshake ends). */
  drop(code: number, reason: string): void {
    if (this.closed) return;
    this.log.warn({ code, reason }, 'closing client');
    try {
      this.ws.close(code, reason.slice(0, 120));
    } catch {
      /* already closing */
    }
    // the close frame queues behind unsent data; give a client that resumes reading a moment to get it
    const t = setTimeout(() => this.ws.terminate(), code === CLOSE_CODES.tooSlow ? 10000 : 1000);
    t.unref();
    this.release();
  }

  /** The connection is gone: unsubscribe everywhere; captures nobody watches any more are stopped. */
  release(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending.clear();
    for (const c of [...this.captures]) {
      this.captures.delete(c);
      if (c.unsubscribe(this)) {
        this.log.info({ captureId: c.id }, 'last watcher left: stopping capture');
        void c.finish('cancelled');
      }
    }
    this.srv.clients.delete(this);
  }
}
