import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importPerfScript, importProfile, ImportError, type Profile } from '@bpfscope/viz';
import { corpusText, fixture, stackMap } from './helpers.js';

function perComm(p: Profile): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of p.stacks) {
    const f = p.frames[s.frames[0]];
    assert.equal(f.kind, 'comm');
    m.set(f.name, (m.get(f.name) ?? 0) + s.weight);
  }
  return m;
}

test('corpus perf-script-busy imports to 9880 samples with the known per-command totals', () => {
  const p = importProfile(corpusText('perf-script-busy.txt.gz'), { fileName: 'perf-script-busy.txt' });
  assert.equal(p.meta.source?.format, 'perf-script');
  assert.equal(p.total, 9880);
  const c = perComm(p);
  const known: Record<string, number> = { node: 4907, gzip: 3912, cc1: 479, tar: 406, swapper: 141, 'kdamond.0': 12, rcu_preempt: 5, sh: 4 };
  for (const [k, v] of Object.entries(known)) assert.equal(c.get(k), v, k);
  let rest = 0;
  for (const [k, v] of c) if (!(k in known)) rest += v;
  assert.equal(rest, 14);
  // kinds: kernel, jit and unknown frames are recognised
  const kinds = new Set(p.frames.map((f) => f.kind));
  for (const k of ['comm', 'kernel', 'user', 'jit', 'unknown'] as const) assert.ok(kinds.has(k), `has ${k} frames`);
  assert.ok(p.frames.some((f) => f.kind === 'jit' && f.name.startsWith('JS:*sortMany')));
  assert.ok(
    p.frames.every((f) => !/\+0x[0-9a-f]+$/.test(f.name)),
    'offsets stripped',
  );
  // timeline: every sample is on it, ~10 s long
  assert.ok(p.timeline);
  assert.equal(
    p.timeline!.count.reduce((a, b) => a + b, 0),
    9880,
  );
  const span = Math.max(...p.timeline!.offsetMs) - Math.min(...p.timeline!.offsetMs);
  assert.ok(span > 9000 && span < 11000, `span ${span}`);
});

test('perf script excerpt: frames root first, kernel/jit/unknown kinds, [dso] for unknown symbols', () => {
  const p = importPerfScript(fixture('perf-script-excerpt.txt'));
  assert.equal(p.total, 6);
  const m = stackMap(p);
  assert.equal(m.get('sleep;_nl_intern_locale_data'), 1);
  assert.equal(m.get('gzip;[unknown];[gzip]'), 2);
  const node = [...m.keys()].find((k) => k.startsWith('node;__libc_start_call_main;node::Start;') && k.endsWith(';JS:*sortMany /srv/demo/work.js:2:18'));
  assert.ok(node, 'node stack with JIT leaf');
  const pf = [...m.keys()].find((k) =>
    k.endsWith(
      ';asm_exc_page_fault;exc_page_fault;handle_mm_fault;__handle_mm_fault;do_anonymous_page;vma_alloc_folio_noprof;alloc_pages_mpol;__alloc_frozen_pages_noprof;get_page_from_freelist;clear_page_erms',
    ),
  );
  assert.ok(pf, 'kernel part after the user part');
  const kindOf = (n: string) => p.frames.find((f) => f.name === n)!.kind;
  assert.equal(kindOf('clear_page_erms'), 'kernel');
  assert.equal(kindOf('JS:*sortMany /srv/demo/work.js:2:18'), 'jit');
  assert.equal(kindOf('[gzip]'), 'unknown');
  assert.equal(kindOf('node::Start'), 'user');
});

test('perf script: weight by period, pid in comm, offsets kept on request', () => {
  const text = fixture('perf-script-excerpt.txt');
  const p = importPerfScript(text, { weight: 'period', includePid: true, keepOffsets: true });
  assert.equal(p.total, 6 * 2004008);
  assert.equal(p.unit, 'nanoseconds');
  assert.ok(p.frames.some((f) => f.name === 'node-5493'));
  assert.ok(p.frames.some((f) => f.name === 'clear_page_erms+0x7'));
});

test('perf script: malformed input names the line', () => {
  assert.throws(
    () => importPerfScript('\t  ffff clear_page ([kernel.kallsyms])\n'),
    (e: unknown) => e instanceof ImportError && e.line === 1 && /sample header/.test(e.message),
  );
  assert.throws(
    () => importPerfScript('cc1 12 [000] 1.000: 1 cpu-clock:\n\tnot-a-frame\n'),
    (e: unknown) => e instanceof ImportError && e.line === 2 && /frame line/.test(e.message),
  );
  assert.throws(() => importPerfScript('\n\n'), /no samples/);
  assert.throws(() => importPerfScript('x 1 [000] 1.0: cpu-clock:\n\t1 f (a)\n', { weight: 'period' }), /no period/);
});

test('perf script without callchains: the frame on the header line is the stack', () => {
  const text = [
    'cc1  4242 [001]   100.000100:     1001001 cpu-clock:ppp:  ffffffff81234567 clear_page_erms+0x7 ([kernel.kallsyms])',
    'cc1  4242 [001]   100.002100:     1001001 cpu-clock:ppp:            5f2a1 ggc_internal_alloc+0x21 (/usr/lib/gcc/x86_64-linux-gnu/12/cc1)',
    'cc1  4242 [001]   100.004100:     1001001 cpu-clock:ppp:            5f2a1 ggc_internal_alloc+0x99 (/usr/lib/gcc/x86_64-linux-gnu/12/cc1)',
    '',
  ].join('\n');
  const p = importPerfScript(text);
  assert.deepEqual(Object.fromEntries(stackMap(p)), { 'cc1;clear_page_erms': 1, 'cc1;ggc_internal_alloc': 2 });
  assert.equal(p.frames.find((f) => f.name === 'clear_page_erms')!.kind, 'kernel');
});

test('perf script without callchains is detected by content', () => {
  const text = 'a 1 [000] 1.000001: 10 cpu-clock:  1234 f+0x1 (/bin/a)\na 1 [000] 1.000002: 10 cpu-clock:  1234 g+0x1 (/bin/a)\n';
  assert.equal(importProfile(text).meta.source?.format, 'perf-script');
});
