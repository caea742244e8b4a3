/**
 * The real corpus through the whole browser path, FlameScope style: perf-script-busy.txt.gz
 * (node with JIT frames, gzip, cc1, tar, kernel) → subsecond heat map → drag a range → the
 * sub-profile of that range drawn as a flame graph. Checks the known per-command totals in the
 * drawn graph, JIT/kernel colours, and that the selected range's samples match the flame graph.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { NO_CHROMIUM, screenshotPath, withTestPage, type Route } from './harness.js';
import * as viz from '../../src/index.js';
import { CORPUS_DIR } from '../../../../tests/support/corpus.js';

const CORPUS = resolve(CORPUS_DIR, 'perf-script-busy.txt.gz');
const api = viz as Record<string, unknown>;
const skip =
  NO_CHROMIUM ||
  (!existsSync(CORPUS)
    ? `corpus file missing: ${CORPUS}`
    : typeof api.importPerfScript !== 'function' || typeof api.subsecondGrid !== 'function' || typeof api.selectRange !== 'function'
      ? '@bpfscope/viz does not export importPerfScript/subsecondGrid/selectRange yet'
      : false);

describe('corpus in chromium: subsecond heat map → range → flame graph', { skip }, () => {
  let page: Page;
  let dialogs: string[];
  let errors: string[];
  let encoded = '';
  const corpusJson: Route = (req, res) => {
    if (req.url !== '/corpus.json') return false;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(encoded);
    return true;
  };

  before(() => {
    const text = gunzipSync(readFileSync(CORPUS)).toString('utf8');
    encoded = (api.encodeProfile as (p: unknown) => string)((api.importPerfScript as (t: string) => unknown)(text));
  });
  withTestPage(
    async (p) => {
      ({ page, dialogs, errors } = p);
      await page.evaluate(async () => {
        const w = window as any;
        const text = await (await fetch('/corpus.json')).text();
        w.profile = w.viz.decodeProfile(text);
        const app = document.getElementById('app')!;
        const top = document.createElement('div');
        const bottom = document.createElement('div');
        app.append(top, bottom);
        w.grid = w.viz.subsecondGrid(w.profile);
        w.fg = w.bpfs.createFlameGraph(bottom, { title: 'perf-script-busy' });
        w.fg.setData(w.profile);
        w.ranges = [];
        w.hm = w.bpfs.createSubsecondHeatmap(top, w.grid, {
          title: 'perf-script-busy: samples per 20 ms',
          cellHeight: 5,
          onSelect: (r: any) => {
            w.ranges.push(r);
            w.fg.setData(w.viz.selectRange(w.profile, r.startMs, r.endMs), { keepView: false });
          },
        });
      });
      await page.waitForSelector('[data-testid="flamegraph"][data-state="ready"]');
      await page.waitForSelector('[data-testid="subsecond-heatmap"][data-state="ready"]');
    },
    [corpusJson],
  );

  const rect = (path: string[]) => page.evaluate((p) => (window as any).fg.frameRect(p), path);

  it('draws the whole capture with the README per-command totals', async () => {
    const info = await page.evaluate(() => {
      const w = window as any;
      const t = w.fg.layout;
      const byComm: Record<string, number> = {};
      for (let c = t.firstChild[0]; c !== -1; c = t.nextSibling[c]) byComm[t.tree.frames[t.tree.frame[c]].name] = t.total[c];
      return { total: t.total[0], byComm, kinds: [...new Set(t.tree.frames.map((f: any) => f.kind))] };
    });
    assert.equal(info.total, 9880);
    assert.equal(info.byComm.node, 4907);
    assert.equal(info.byComm.gzip, 3912);
    assert.equal(info.byComm.cc1, 479);
    assert.equal(info.byComm.tar, 406);
    assert.ok(info.kinds.includes('jit') && info.kinds.includes('kernel'), `kinds: ${info.kinds}`);
    // the flame graph's bottom rows lie below the viewport: scroll them into view first
    await page.evaluate(() => (window as any).fg.element.scrollIntoView({ block: 'end' }));
    const root = (await rect([]))!;
    const node = (await rect(['node']))!;
    assert.ok(Math.abs(node.width - (root.width * 4907) / 9880) < 1);
    // the hover tooltip of node reads value, share and unit
    await page.mouse.move(node.x + node.width / 2, node.y + node.height / 2);
    assert.equal(await page.textContent('[data-testid="flamegraph-tooltip"]'), 'node (4,907 samples, 49.7%)');
    const m = await page.evaluate(() => (window as any).fg.search('^JS:'));
    assert.ok(m.share > 0 && m.share < 4907 / 9880, `JIT share ${m.share}`);
    assert.match((await page.textContent('[data-testid="search-match"]'))!, /^Matched: \d+\.\d%$/);
    await page.screenshot({ path: screenshotPath('corpus-search-jit.png'), fullPage: true });
    await page.evaluate(() => (window as any).fg.search(null));
    await page.screenshot({ path: screenshotPath('corpus-full.png'), fullPage: true });
  });

  it('a dragged range on the heat map becomes the flame graph of that range', async () => {
    await page.evaluate(() => window.scrollTo(0, 0));
    const cols = await page.evaluate(() => (window as any).grid.columns);
    assert.ok(cols >= 9, `capture spans ${cols} s`);
    const a = await page.evaluate(() => (window as any).hm.cellRect(2, 0));
    const b = await page.evaluate(() => (window as any).hm.cellRect(4, 49));
    await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
    await page.mouse.down();
    await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 5 });
    await page.mouse.up();
    await page.waitForSelector('[data-testid="flamegraph"][data-state="ready"]');
    const r = await page.evaluate(() => (window as any).ranges.at(-1));
    assert.equal(r.startMs, 2000);
    assert.equal(r.endMs, 5000);
    const got = await page.evaluate(() => {
      const w = window as any;
      let s = 0;
      for (let i = 2 * 50; i < 5 * 50; i++) s += w.grid.values[i];
      return { gridSum: s, drawn: w.fg.layout.total[0] };
    });
    assert.ok(got.drawn > 0);
    assert.equal(r.samples, got.gridSum);
    assert.equal(got.drawn, got.gridSum, 'the flame graph holds exactly the selected samples');
    await page.screenshot({ path: screenshotPath('corpus-range.png'), fullPage: true });
    assert.deepEqual(dialogs, []);
    assert.deepEqual(errors, []);
  });
});
