/**
 * importProfile: one entry point for every format. Detects the format from the file name first
 * (`.folded`, `.collapsed`, `.pb(.gz)`, `.speedscope.json`, `.bpfscope.json`, `.perf`, `.bt`...),
 * then from the content. Gzipped text is unpacked first.
 */
import type { Profile, ProfileFormat } from '../model/types.js';
import { ImportError } from './errors.js';
import { importFolded } from './folded.js';
import { importPerfScript } from './perf-script.js';
import { importBpftrace } from './bpftrace.js';
import { importPprof, isGzip, gunzip } from './pprof.js';
import { importSpeedscope } from './speedscope.js';
import { importBpfscope } from './bpfscope.js';

export interface ImportOptions {
  fileName?: string;
  /** skip detection. */
  format?: ProfileFormat;
}

const FORMATS: readonly ProfileFormat[] = ['folded', 'perf-script', 'pprof', 'bpftrace', 'speedscope', 'bpfscope'];

/** The format a file name says, or undefined when the name says nothing certain. */
export function formatFromFileName(fileName: string): ProfileFormat | undefined {
  const n = fileName.toLowerCase().replace(/\.gz$/, '');
  if (/\.(pb|pprof|prof)$/.test(n) || /(^|[/.])pprof\./.test(n)) return 'pprof';
  if (n.endsWith('.speedscope.json')) return 'speedscope';
  if (n.endsWith('.bpfscope.json') || n.endsWith('.bpfscope')) return 'bpfscope';
  if (/\.(folded|collapsed|stacks|fold)$/.test(n)) return 'folded';
  if (/\.(perf|perf-script|perfscript|script)$/.test(n) || /perf-script/.test(n)) return 'perf-script';
  if (/\.(bt|bpftrace)$/.test(n)) return 'bpftrace';
  return undefined;
}

const decoder = new TextDecoder('utf-8', { fatal: false });
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

/** Detect the format of text content. */
export function formatFromText(text: string): ProfileFormat | undefined {
  const head = text.slice(0, 64 * 1024).replace(/^\uFEFF/, '');
  const trimmed = head.trimStart();
  if (trimmed.startsWith('{')) {
    if (/"format"\s*:\s*"bpfscope"/.test(head)) return 'bpfscope';
    if (/speedscope|"shared"\s*:/.test(head) && /"profiles"\s*:|"shared"\s*:/.test(head)) return 'speedscope';
    return undefined;
  }
  const lines = head.split('\n').slice(0, 200);
  if (lines.some((l) => /^Attaching \d+ probes?/.test(l)) || lines.some((l) => /^@[A-Za-z_0-9]*\[/.test(l))) return 'bpftrace';
  // perf script: a header line followed by a tab/space-indented "addr sym (dso)" line
  const perfHeader = /^\S.*?\s+\d+(\/\d+)?\s+(\[\d+\]\s+)?\d+\.\d+:\s+(\d+\s+)?\S+:/;
  let headers = 0;
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!perfHeader.test(lines[i])) continue;
    if (/^\s+[0-9a-f]+\s/.test(lines[i + 1]) || lines[i + 1].trim() === '') return 'perf-script';
    if (++headers >= 2) return 'perf-script'; // samples without callchains: one line each
  }
  const content = lines.filter((l) => l.trim() !== '' && !l.startsWith('#'));
  if (content.length > 0 && content.slice(0, 50).every((l) => /\S[ \t]+\d+(\.\d+)?\r?$/.test(l))) return 'folded';
  return undefined;
}

/**
 * Import a profile in any supported format. `input` is text, or bytes (pprof, gzip, or UTF-8 text).
 * Throws ImportError when the format is unknown or the content malformed.
 */
export function importProfile(input: string | Uint8Array, opts: ImportOptions = {}): Profile {
  const fileName = opts.fileName;
  let format = opts.format;
  if (format !== undefined && !FORMATS.includes(format))
    throw new ImportError('unknown', `format ${JSON.stringify(format)} is not one of ${FORMATS.join(', ')}`);
  if (format === undefined && fileName) format = formatFromFileName(fileName);
  let text: string | undefined;
  let bytes: Uint8Array | undefined;
  if (typeof input === 'string') text = input;
  else if (input instanceof Uint8Array) {
    bytes = input;
    if (format === 'pprof') return importPprof(bytes, { fileName });
    if (isGzip(bytes)) bytes = gunzip(bytes);
    try {
      text = strictDecoder.decode(bytes);
    } catch {
      // not UTF-8: binary protobuf
      if (format === undefined) return importPprof(bytes, { fileName });
      text = decoder.decode(bytes);
    }
  } else {
    throw new ImportError('unknown', 'expected the file as a string or a Uint8Array');
  }
  if (format === undefined) format = formatFromText(text);
  if (format === undefined) {
    if (bytes && text.includes('\u0000')) return importPprof(bytes, { fileName });
    throw new ImportError(
      'unknown',
      `could not tell the format of ${fileName ? JSON.stringify(fileName) : 'the input'}: expected folded stacks ("comm;a;b 12"), perf script, bpftrace map output, pprof, speedscope or bpfscope JSON; pass format to choose`,
    );
  }
  switch (format) {
    case 'folded':
      return importFolded(text, { fileName });
    case 'perf-script':
      return importPerfScript(text, { fileName });
    case 'bpftrace':
      return importBpftrace(text, { fileName });
    case 'speedscope':
      return importSpeedscope(text, { fileName });
    case 'bpfscope':
      return importBpfscope(text);
    case 'pprof':
      if (!bytes) throw new ImportError('pprof', 'pprof is binary: pass the file as a Uint8Array');
      return importPprof(bytes, { fileName });
  }
}

export { ImportError } from './errors.js';
export { importFolded, foldedKinds, type FoldedImportOptions } from './folded.js';
export { importPerfScript, type PerfScriptImportOptions } from './perf-script.js';
export { importBpftrace, countBpftraceEntries, type BpftraceImportOptions } from './bpftrace.js';
export { importPprof, type PprofImportOptions } from './pprof.js';
export { importSpeedscope, type SpeedscopeImportOptions } from './speedscope.js';
export { importBpfscope } from './bpfscope.js';
