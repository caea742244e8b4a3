import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { Profile as PprofProfile } from 'pprof-format';
import {
  importFolded,
  importPerfScript,
  importPprof,
  importSpeedscope,
  importBpftrace,
  importProfile,
  toFolded,
  toPprof,
  toSpeedscope,
  toSvg,
  toDiffSvg,
  escapeXml,
  ProfileBuilder,
  buildTree,
  nodePath,
  diffColor,
  nodeColor,
  paletteForTool,
} from '@bpfscope/viz';
import { corpusText, fixture, lineSet, stackMap } from './helpers.js';

const rgbOf = (c: string) => c.match(/\d+/g)!.map(Number);
const kindsOf = (p: ReturnType<typeof importFolded>) => new Map(p.frames.map((f) => [f.name, f.kind]));

test('pprof export is gzipped, readable by pprof-format, and re-imports to the same stacks and kinds', () => {
  for (const p of [importFolded(fixture('offwaketime.folded')), importPerfScript(corpusText('perf-script-busy.txt.gz'))]) {
    const gz = toPprof(p);
    assert.equal(gz[0], 0x1f);
    assert.equal(gz[1], 0x8b);
    const raw = gunzipSync(gz);
    const pp = PprofProfile.decode(raw);
    assert.equal(pp.sample.length, p.stacks.length);
    const q = importPprof(gz);
    assert.equal(q.total, p.total);
    assert.deepEqual(stackMap(q), stackMap(p));
    assert.deepEqual(kindsOf(q), kindsOf(p));
    assert.equal(toFolded(q), toFolded(p));
    // raw .pb too, through the entry point
    assert.equal(importProfile(new Uint8Array(raw), { fileName: 'x.pb' }).total, p.total);
  }
});

test('pprof import: sample type choice, inline frames, kernel mappings, errors', () => {
  // a hand-built pprof with two sample types and an inlined frame
  const st = ['', 'samples', 'count', 'cpu', 'nanoseconds', 'main', 'inlined_helper', 'vfs_read', '[kernel.kallsyms]', '/usr/bin/app'];
  const pp = new PprofProfile({
    sampleType: [
      { type: 1, unit: 2 },
      { type: 3, unit: 4 },
    ],
    mapping: [
      { id: 1, filename: 8 },
      { id: 2, filename: 9 },
    ],
    function: [
      { id: 1, name: 5 },
      { id: 2, name: 6 },
      { id: 3, name: 7 },
    ],
    location: [
      { id: 1, mappingId: 2, line: [{ functionId: 2 }, { functionId: 1 }] },
      { id: 2, mappingId: 1, line: [{ functionId: 3 }] },
    ],
    sample: [
      { locationId: [2, 1], value: [3, 3000] },
      { locationId: [1], value: [1, 1000] },
    ],
  });
  for (const s of st.slice(1)) pp.stringTable.dedup(s);
  const bytes = pp.encode();
  const cpu = importPprof(bytes);
  assert.equal(cpu.unit, 'nanoseconds', 'picks the last sample type (cpu) by default, as pprof does');
  assert.equal(cpu.total, 4000);
  assert.deepEqual([...stackMap(cpu)].sort(), [
    ['main;inlined_helper', 1000],
    ['main;inlined_helper;vfs_read', 3000],
  ]);
  const kinds = kindsOf(cpu);
  assert.equal(kinds.get('inlined_helper'), 'inline');
  assert.equal(kinds.get('vfs_read'), 'kernel');
  const smp = importPprof(bytes, { sampleType: 'samples' });
  assert.equal(smp.total, 4);
  assert.equal(smp.unit, 'samples');
  assert.throws(() => importPprof(bytes, { sampleType: 'alloc' }), /sample type "alloc" not found; the profile has 0:samples, 1:cpu/);
  assert.throws(() => importPprof(new Uint8Array([0xff, 0xff, 0xff])), /not a valid pprof/);
});

test('speedscope export re-imports to the same totals, stacks and kinds; evented profiles import', () => {
  const p = importBpftrace(corpusText('bpftrace-profile-busy.txt'));
  const json = toSpeedscope(p);
  const doc = JSON.parse(json);
  assert.equal(doc.$schema, 'https://www.speedscope.app/file-format-schema.json');
  assert.equal(doc.profiles[0].type, 'sampled');
  const q = importSpeedscope(json);
  assert.equal(q.total, 2276);
  assert.deepEqual(stackMap(q), stackMap(p));
  assert.deepEqual(kindsOf(q), kindsOf(p));
  const ev = importSpeedscope({
    shared: { frames: [{ name: 'main' }, { name: 'work' }, { name: 'io' }] },
    profiles: [
      {
        type: 'evented',
        name: 't',
        unit: 'milliseconds',
        startValue: 0,
        endValue: 10,
        events: [
          { type: 'O', at: 0, frame: 0 },
          { type: 'O', at: 2, frame: 1 },
          { type: 'O', at: 5, frame: 2 },
          { type: 'C', at: 6, frame: 2 },
          { type: 'C', at: 8, frame: 1 },
          { type: 'C', at: 10, frame: 0 },
        ],
      },
    ],
  });
  assert.deepEqual([...stackMap(ev)].sort(), [
    ['main', 4],
    ['main;work', 5],
    ['main;work;io', 1],
  ]);
  assert.equal(ev.unit, 'milliseconds');
  assert.throws(
    () => importSpeedscope('{"shared":{"frames":[]},"profiles":[{"type":"sampled","unit":"none","samples":[[3]],"weights":[1]}]}'),
    /samples\[0\]\[0\] = 3 is not an index/,
  );
  assert.throws(
    () => importSpeedscope({ shared: { frames: [{ name: 'a' }] }, profiles: [{ type: 'evented', unit: 'none', events: [{ type: 'C', at: 1, frame: 0 }] }] }),
    /not the innermost open frame/,
  );
});

test('folded export: exact round trip of the perf corpus, stable export → import → export', () => {
  const p = importPerfScript(corpusText('perf-script-busy.txt.gz'));
  const f1 = toFolded(p);
  const f2 = toFolded(importFolded(f1));
  assert.equal(f2, f1);
  assert.deepEqual(lineSet(f1).length, p.stacks.length);
  // names with ';' or newlines stay parseable
  const b = new ProfileBuilder();
  b.addStack(
    [
      { name: 'a;b', kind: 'comm' },
      { name: 'x\ny', kind: 'user' },
    ],
    1,
  );
  assert.equal(toFolded(b.build()), 'a:b;x y 1\n');
});

test('SVG export: standalone, titled, escaped, one <title> per drawn frame, colours per kind', () => {
  const p = importFolded(fixture('profile.folded'));
  const svg = toSvg(p, { title: 'CPU <busy> & "hot"' });
  assert.ok(svg.startsWith('<?xml'));
  assert.ok(svg.includes('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(!/<script/i.test(svg), 'no scripts');
  assert.ok(svg.includes('CPU &lt;busy&gt; &amp; &quot;hot&quot;'));
  assert.ok(!svg.includes('<img'), 'the hostile frame name is escaped');
  assert.ok(svg.includes('&lt;img src=x onerror=alert(1)&gt;'));
  const titles = svg.match(/<title>/g)!.length;
  const rects = svg.match(/<rect /g)!.length - 1; // minus background
  assert.equal(titles, rects);
  assert.ok(titles >= 20);
  assert.match(svg, /<title>longest_match \(210 samples, 41\.58%, self 210\)<\/title>/);
  // kernel frames are orange-ish, JIT green-ish
  const fillOf = (name: string) =>
    new RegExp(`<title>${name.replace(/[[\]*().]/g, '\\$&')} \\([^<]*</title><rect [^>]*fill="rgb\\((\\d+),(\\d+),(\\d+)\\)"`).exec(svg)!.slice(1).map(Number);
  const [kr, kg, kb] = fillOf('vfs_read_[k]');
  assert.ok(kr > 200 && kg > 100 && kb < 80);
  const [jr, jg, jb] = fillOf('JS:*sortMany /srv/demo/work.js:2:18');
  assert.ok(jg > jr && jg > jb);
  // well-formed XML: every <g> closed, no raw control characters
  assert.equal(svg.match(/<g>/g)!.length, svg.match(/<\/g>/g)!.length);
  assert.equal(escapeXml('a\u0001b<'), 'a\uFFFDb&lt;');
});

test('SVG export uses the canvas palette: the same colour per node, the palette of the tool', () => {
  const p = importFolded('tar;read;schedule_[k];--;try_to_wake_up_[k];kworker 40\ntar;write 5\nnode;JS:*x_[j] 3\n');
  for (const tool of [undefined, 'offcputime', 'offwaketime'] as const) {
    const q = { ...p, meta: { ...p.meta, tool } };
    const svg = toSvg(q, { minWidthPx: 0 });
    const tree = buildTree(q);
    const pal = paletteForTool(tool);
    for (let i = 0; i < tree.count; i++) {
      const name = i === 0 ? 'all' : tree.frames[tree.frame[i]].name;
      const m = new RegExp(`<title>${escapeXml(name).replace(/[-[\]*().$^+?|{}\\]/g, '\\$&')} \\([^<]*</title><rect [^>]*fill="(rgb\\([^"]+\\))"`).exec(svg);
      assert.ok(m, `${name} drawn`);
      assert.equal(m[1], nodeColor(tree, i, pal), `${tool ?? 'profile'}: ${nodePath(tree, i).join(';')}`);
    }
  }
  // the waker part of a chain is violet on a wakeup graph, blue before the separator
  const chain = { ...p, meta: { ...p.meta, tool: 'offwaketime' as const } };
  const svg = toSvg(chain);
  const fillOf = (name: string) =>
    rgbOf(new RegExp(`<title>${name.replace(/[[\]]/g, '\\$&')} \\([^<]*</title><rect [^>]*fill="(rgb\\([^"]+\\))"`).exec(svg)![1]);
  const [br, , bb] = fillOf('schedule_[k]');
  const [wr, , wb] = fillOf('try_to_wake_up_[k]');
  assert.ok(bb > br + 60 && wr > br + 40 && wb > 180);
  // older option names still work
  assert.equal(toSvg(chain, { palette: 'cold' }), toSvg(chain, { palette: 'offcpu' }));
});

test('SVG export: frames too narrow to draw keep their width in the layout', () => {
  const p = importFolded('a;aa 1\na;zz 1000\n');
  const svg = toSvg(p, { minWidthPx: 2 });
  assert.ok(!svg.includes('<title>aa '), 'aa is too narrow to draw');
  const x = Number(/<title>zz [^<]*<\/title><rect x="([\d.]+)"/.exec(svg)![1]);
  assert.ok(Math.abs(x - (10 + 1180 / 1001)) < 0.01, `zz starts after aa's width: ${x}`);
});

test('differential SVG: target widths, red for growth, blue for shrinkage, escaped tooltips', () => {
  const before = importFolded('app;main;parse 60\napp;main;render 40\napp;<b>old</b> 5\n');
  const after = importFolded('app;main;parse 30\napp;main;render 150\n');
  const svg = toDiffSvg(before, after);
  const fill = (name: string) => new RegExp(`<title>${name}: [^<]*</title><rect [^>]*fill="rgb\\((\\d+),(\\d+),(\\d+)\\)"`).exec(svg)!.slice(1).map(Number);
  const [rr, rg] = fill('render');
  assert.ok(rr === 250 && rg < 150, 'render grew: red');
  const [pr, , pb] = fill('parse');
  assert.ok(pb === 250 && pr > 150, 'parse shrank: light blue');
  assert.deepEqual(fill('render'), rgbOf(diffColor(110, 110)), "the canvas's diff colour (palette.diffColor)");
  assert.match(svg, /<title>render: base 40, target 150 samples, \+110 \(\+275\.0%\)<\/title>/);
  assert.ok(!svg.includes('<title>&lt;b&gt;old'), 'frames only in the base have no width in the target view');
  const neg = toDiffSvg(before, after, { widthsFrom: 'base' });
  assert.ok(neg.includes('<title>&lt;b&gt;old&lt;/b&gt;: base 5, target 0 samples, -5 (-100.0%)</title>'));
  assert.ok(!/<script/i.test(neg));
});

test('multi-host profiles: folded lines start with the host, pprof carries it as the label "host", speedscope has one profile per host', () => {
  // the same stack on two hosts, under a root frame per host as fleet captures have it
  const onHost = (host: string) => [
    { name: host, kind: 'unknown' as const },
    { name: 'nginx', kind: 'comm' as const },
    { name: 'main', kind: 'user' as const },
  ];
  const b = new ProfileBuilder('samples');
  b.addStack(onHost('web-1'), 3);
  b.addStack(onHost('web-2'), 5);
  const built = b.build();
  const p = {
    ...built,
    meta: {
      ...built.meta,
      hosts: [
        { name: 'web-1', state: 'done' as const, samples: 3 },
        { name: 'web-2', state: 'done' as const, samples: 5 },
      ],
    },
  };
  assert.deepEqual(toFolded(p).trim().split('\n').sort(), ['web-1;nginx;main 3', 'web-2;nginx;main 5']);
  const pp = PprofProfile.decode(gunzipSync(toPprof(p)));
  const str = (i: number | bigint) => pp.stringTable.strings[Number(i)];
  const got = pp.sample.map((s) => {
    const lab = s.label.find((l) => str(l.key) === 'host');
    const names = s.locationId.map((id) => str(pp.function[Number(pp.location[Number(id) - 1].line[0].functionId) - 1].name));
    return `${lab ? str(lab.str) : '-'}:${names.join('<')}:${s.value[0]}`;
  });
  assert.deepEqual(got.sort(), ['web-1:main<nginx:3', 'web-2:main<nginx:5']);
  const ss = JSON.parse(toSpeedscope(p));
  assert.deepEqual(
    ss.profiles.map((x: { name: string; endValue: number; samples: number[][] }) => [
      x.name,
      x.endValue,
      x.samples[0].map((f) => ss.shared.frames[f].name).join(';'),
    ]),
    [
      ['web-1', 3, 'nginx;main'],
      ['web-2', 5, 'nginx;main'],
    ],
  );
});
