import type { ProfileFormat } from '../model/types.js';

/**
 * A file could not be imported. Names the format, where (1-based line, or byte offset) and what
 * was expected. Importers never return a partial profile: they throw this instead.
 */
export class ImportError extends Error {
  readonly format: ProfileFormat | 'unknown';
  readonly line?: number;
  readonly offset?: number;
  constructor(format: ProfileFormat | 'unknown', message: string, where: { line?: number; offset?: number } = {}) {
    const loc = where.line !== undefined ? ` at line ${where.line}` : where.offset !== undefined ? ` at offset ${where.offset}` : '';
    super(`${format}${loc}: ${message}`);
    this.name = 'ImportError';
    this.format = format;
    this.line = where.line;
    this.offset = where.offset;
  }
}

/** Shorten an untrusted input line for an error message (escaping control characters). */
export function excerpt(s: string, max = 80): string {
  const t = s.length > max ? s.slice(0, max) + '…' : s;
  return JSON.stringify(t);
}

/** Split text into lines (\n or \r\n). */
export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) if (lines[i].endsWith('\r')) lines[i] = lines[i].slice(0, -1);
  return lines;
}
