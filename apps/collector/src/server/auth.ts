/** Credential and Origin checks made on the HTTP upgrade request, before any WebSocket exists. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Compares a presented token with the configured one in constant time (hashes have equal length). */
export function tokenMatches(presented: string | undefined, expected: string): boolean {
  const a = digest(presented ?? '');
  const b = digest(expected);
  return timingSafeEqual(a, b) && presented !== undefined;
}

/** The bearer token of an upgrade request (`Authorization: Bearer <token>`), if any. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(h);
  return m ? m[1] : undefined;
}

export type AuthResult = { ok: true } | { ok: false; status: 401 | 403; reason: string };

/** Decide whether an upgrade request may proceed. Never includes the token in the reason. */
export function checkUpgrade(req: IncomingMessage, token: string | undefined, allowedOrigins: readonly string[]): AuthResult {
  if (token !== undefined && !tokenMatches(bearerToken(req), token))
    return { ok: false, status: 401, reason: req.headers.authorization ? 'wrong token' : 'missing token (send Authorization: Bearer <token>)' };
  const origin = req.headers.origin;
  if (origin !== undefined) {
    const o = String(origin).replace(/\/$/, '');
    if (!allowedOrigins.includes('*') && !allowedOrigins.includes(o))
      return { ok: false, status: 403, reason: 'origin not allowed (set BPFSCOPE_ALLOWED_ORIGINS on the collector)' };
  }
  return { ok: true };
}
