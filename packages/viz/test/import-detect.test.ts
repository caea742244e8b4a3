import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { importProfile, formatFromFileName, formatFromText, toPprof, toSpeedscope, encodeProfile, ImportError } from '@bpfscope/viz';
import { corpusText, fixture, profileFromText } from './helpers.js';

test('detection by file name first', () => {
  assert.equal(formatFromFileName('cpu.pb.gz'), 'pprof');
  assert.equal(formatFromFileName('x.speedscope.json'), 'speedscope');
  assert.equal(formatFromFileName('snap.bpfscope.json'), 'bpfscope');
  assert.equal(formatFromFileName('out.folded'), 'folded');
  assert.equal(formatFromFileName('out.collapsed.gz'), 'folded');
  assert.equal(formatFromFileName('perf-script-busy.txt'), 'perf-script');
  assert.equal(formatFromFileName('trace.bt'), 'bpftrace');
  assert.equal(formatFromFileName('data.txt'), undefined);
  // a name wins over the content: a folded file named .folded whose first frame looks odd
  const p = importProfile('a;b 1\n', { fileName: 'x.folded' });
  assert.equal(p.meta.source?.format, 'folded');
});

test('detection by content for every format, text or bytes, gzipped or not', () => {
  const base = profileFromText('app;main;work 3\napp;main 1');
  const cases: [string | Uint8Array, string][] = [
    ['app;main;work 3\n', 'folded'],
    [
      corpusText('perf-script-busy.txt.gz')
        .slice(0, 5000)
        .replace(/\n[^\n]*$/, '\n'),
      'perf-script',
    ],
    [fixture('bpftrace-excerpt.txt'), 'bpftrace'],
    [toSpeedscope(base), 'speedscope'],
    [encodeProfile(base), 'bpfscope'],
    [toPprof(base), 'pprof'],
    [new TextEncoder().encode('app;main;work 3\n'), 'folded'],
    [gzipSync(Buffer.from(fixture('bpftrace-excerpt.txt'))), 'bpftrace'],
  ];
  for (const [input, fmt] of cases) {
    const p = importProfile(input);
    const got = fmt === 'bpfscope' ? (p.meta.source?.format ?? 'bpfscope') : p.meta.source?.format;
    if (fmt !== 'bpfscope') assert.equal(got, fmt);
    assert.ok(p.total > 0);
  }
  assert.equal(formatFromText('{"format":"bpfscope","version":1}'), 'bpfscope');
});

test('unknown content and mismatched format give clear errors', () => {
  assert.throws(
    () => importProfile('hello world\nthis is not a profile\n'),
    (e: unknown) => e instanceof ImportError && /could not tell the format/.test(e.message) && /pass format/.test(e.message),
  );
  assert.throws(() => importProfile('a;b 1', { format: 'bogus' as never }), /is not one of/);
  assert.throws(() => importProfile('a;b 1', { format: 'pprof' }), /binary/);
  assert.throws(() => importProfile(new Uint8Array([0x1f, 0x8b, 1, 2, 3])), /gzip data is corrupt/);
});
