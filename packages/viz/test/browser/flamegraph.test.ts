/**
 * Flame graph renderer in headless Debian chromium: draw, zoom (click + API), reset, search with
 * "Matched: x%", orientation, sort, palettes (pixel colours), differential colours, tooltip text,
 * and a hostile frame name that must show as text and run nothing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { NO_CHROMIUM, screenshotPath, withTestPage, type Rect } from './harness.js';

const EVIL = '<img src=x onerror=alert(1)>';
// 130 samples: node 80 (main 70, work 60), gzip 20 (main 20), the hostile comm 30.
const FOLDED = [
  'node;start;main;work;compute 40',
  'node;start;main;work;hash 20',
  'node;start;main;io;read_[k] 10',
  'node;start;gc_[j] 10',
  'gzip;main;deflate;longest_match 15',
  'gzip;main;zip_write;write_[k] 5',
  `${EVIL};evil;<script>alert(2)</script> 30`,
].join('\n');

describe('flame graph in chromium', { skip: NO_CHROMIUM }, () => {
  let page: Page;
  let dialogs: string[];
  let errors: string[];
  withTestPage((p) => ({ page, dialogs, errors } = p));

  async function create(opts: Record<string, unknown> = {}, folded = FOLDED, tool?: string) {
    await page.evaluate(
      ([folded, opts, tool]) => {
        const w = window as any;
        w.fg?.destroy();
        document.getElementById('app')!.replaceChildren();
        w.events = [];
        w.fg = w.bpfs.createFlameGraph(document.getElementById('app'), opts);
        for (const ev of ['zoom', 'click', 'hover', 'search']) w.fg.on(ev, (v: unknown) => w.events.push([ev, v]));
        w.profile = w.bpfs.profileFromFolded(folded, 'samples', tool);
        w.fg.setData(w.profile);
      },
      [folded, opts, tool] as const,
    );
    await page.waitForSelector('[data-testid="flamegraph"][data-state="ready"]');
  }
  const rect = (path: string[]) => page.evaluate((p) => (window as any).fg.frameRect(p) as Rect | null, path);
  const pixel = (x: number, y: number) =>
    page.evaluate(
      ([x, y]) => {
        const c = document.querySelector('[data-testid="flamegraph"] canvas') as HTMLCanvasElement;
        const r = c.getBoundingClientRect();
        const dpr = c.width / r.width;
        const d = c.getContext('2d')!.getImageData(Math.round((x - r.left) * dpr), Math.round((y - r.top) * dpr), 1, 1).data;
        return [d[0], d[1], d[2]];
      },
      [x, y] as const,
    );

  it('draws frames with widths proportional to their weight', async () => {
    await create({ title: 'on-CPU test' });
    const root = await rect([]);
    const node = await rect(['node']);
    const work = await rect(['node', 'start', 'main', 'work']);
    assert.ok(root && node && work);
    assert.ok(Math.abs(node.width - (root.width * 80) / 130) < 1, `node width ${node.width} vs ${(root.width * 80) / 130}`);
    assert.ok(Math.abs(work.width - (root.width * 60) / 130) < 1);
    // flame orientation: children above parents
    assert.ok(work.y < node.y && node.y < root.y);
    const frames = Number(await page.getAttribute('[data-testid="flamegraph"]', 'data-frames'));
    assert.equal(frames, 19, 'all 18 frames + root are wide enough to draw');
    // the canvas really has colour where a frame is, and nothing above the top frame
    const px = await pixel(work.x + work.width / 2, work.y + 2);
    assert.ok(px[0] > 150 && px[2] < 120, `user frame is warm, got ${px}`);
    const k = (await rect(['node', 'start', 'main', 'io', 'read']))!;
    const kp = await pixel(k.x + 2, k.y + 2);
    const j = (await rect(['node', 'start', 'gc']))!;
    const jp = await pixel(j.x + 2, j.y + 2);
    assert.ok(jp[1] > jp[0] && jp[1] > jp[2], `JIT frame is green, got ${jp}`);
    assert.notDeepEqual(kp, px, 'kernel frame is coloured apart from user frames');
    await page.screenshot({ path: screenshotPath('flamegraph-cpu.png') });
  });

  it('zooms on click, reports the frame, and resets', async () => {
    await create();
    const work = (await rect(['node', 'start', 'main', 'work']))!;
    await page.mouse.click(work.x + work.width / 2, work.y + work.height / 2);
    await page.waitForSelector('[data-testid="flamegraph"][data-state="ready"]');
    const zoom = JSON.parse((await page.getAttribute('[data-testid="flamegraph"]', 'data-zoom'))!);
    assert.deepEqual(zoom, ['node', 'start', 'main', 'work']);
    const ev = await page.evaluate(() => (window as any).events.filter((e: any[]) => e[0] === 'zoom').map((e: any[]) => e[1]));
    assert.equal(ev.length, 1);
    assert.equal(ev[0].name, 'work');
    assert.equal(ev[0].value, 60);
    assert.ok(Math.abs(ev[0].share - 60 / 130) < 1e-9);
    // the zoomed frame fills the width; its children split it 40:20
    const root = (await rect([]))!;
    const compute = (await rect(['node', 'start', 'main', 'work', 'compute']))!;
    assert.ok(Math.abs(compute.width - (root.width * 40) / 60) < 1);
    // frames outside the zoomed subtree are not drawn
    assert.equal(await rect(['gzip']), null);
    await page.screenshot({ path: screenshotPath('flamegraph-zoomed.png') });
    assert.equal(await page.isEnabled('[data-testid="reset-zoom"]'), true);
    await page.click('[data-testid="reset-zoom"]');
    assert.equal(await page.getAttribute('[data-testid="flamegraph"]', 'data-zoom'), '[]');
    assert.ok(await rect(['gzip']));
    // API zoom
    assert.equal(await page.evaluate(() => (window as any).fg.zoomTo(['gzip', 'main'])), true);
    assert.equal(await page.evaluate(() => (window as any).fg.zoomTo(['gzip', 'nope'])), false);
    assert.deepEqual(await page.evaluate(() => (window as any).fg.zoomPath()), ['gzip', 'main']);
    // live update: new data keeps the zoom while the path still exists
    await page.evaluate((f) => {
      const w = window as any;
      w.fg.setData(w.bpfs.profileFromFolded(f + '\ngzip;main;deflate 5'));
    }, FOLDED);
    assert.deepEqual(await page.evaluate(() => (window as any).fg.zoomPath()), ['gzip', 'main']);
    assert.equal(await page.evaluate(() => (window as any).fg.layout.total[0]), 135);
    // Escape resets the zoom (keyboard)
    await page.focus('[data-testid="flamegraph"] canvas');
    await page.keyboard.press('Escape');
    assert.deepEqual(await page.evaluate(() => (window as any).fg.zoomPath()), []);
  });

  it('search highlights matches and shows "Matched: x%"', async () => {
    await create();
    await page.fill('[data-testid="search-input"]', 'main');
    await page.waitForFunction(() => document.querySelector('[data-testid="search-match"]')!.textContent !== '');
    // node;start;main (70) + gzip;main (20) = 90 of 130
    assert.equal(await page.textContent('[data-testid="search-match"]'), 'Matched: 69.2%');
    const sev = await page.evaluate(() => (window as any).events.filter((e: any[]) => e[0] === 'search').map((e: any[]) => e[1]));
    assert.equal(sev.at(-1).pattern, 'main', 'the toolbar search is reported (for URL state)');
    assert.equal(sev.at(-1).matched, 90);
    const main = (await rect(['gzip', 'main']))!;
    assert.deepEqual(await pixel(main.x + main.width / 2, main.y + 3), [230, 0, 230], 'matches drawn magenta');
    // nested matches are counted once: /o/ matches node, start? no: node, io, compute, longest_match, zip_write, ...
    const r = await page.evaluate(() => (window as any).fg.search(/^(work|compute)$/));
    assert.equal(r.matched, 60, 'compute sits under work: counted once');
    assert.equal(await page.textContent('[data-testid="search-match"]'), 'Matched: 46.2%');
    const bad = await page.evaluate(() => {
      try {
        (window as any).fg.search('(');
        return '';
      } catch (e) {
        return String(e);
      }
    });
    assert.match(bad, /invalid regular expression/);
    await page.evaluate(() => (window as any).fg.search(null));
    assert.equal(await page.textContent('[data-testid="search-match"]'), '');
  });

  it('icicle orientation puts the root at the top; sort by weight reorders siblings', async () => {
    await create({ sort: 'name' });
    const byName = [(await rect(['<img src=x onerror=alert(1)>']))!.x, (await rect(['gzip']))!.x, (await rect(['node']))!.x];
    assert.ok(byName[0] < byName[1] && byName[1] < byName[2], 'name order: <img < gzip < node');
    await page.evaluate(() => (window as any).fg.setSort('weight'));
    const byWeight = [(await rect(['node']))!.x, (await rect([EVIL]))!.x, (await rect(['gzip']))!.x];
    assert.ok(byWeight[0] < byWeight[1] && byWeight[1] < byWeight[2], 'weight order: node(80), evil(30), gzip(20)');
    const flameRoot = (await rect([]))!;
    await page.evaluate(() => (window as any).fg.setOrientation('icicle'));
    assert.equal(await page.getAttribute('[data-testid="flamegraph"]', 'data-orientation'), 'icicle');
    const root = (await rect([]))!;
    const node = (await rect(['node']))!;
    assert.ok(root.y < node.y, 'icicle: root above its children');
    assert.ok(root.y < flameRoot.y, 'icicle root is at the top, flame root at the bottom');
    const at = await page.evaluate(([x, y]) => (window as any).fg.frameAt(x, y), [node.x + 5, node.y + 5] as const);
    assert.equal(at.name, 'node');
    await page.screenshot({ path: screenshotPath('flamegraph-icicle.png') });
  });

  it('tooltip shows value, share and unit; a hostile frame name is text and runs nothing', async () => {
    await create({ title: EVIL });
    const evil = (await rect([EVIL]))!;
    await page.mouse.move(evil.x + evil.width / 2, evil.y + evil.height / 2);
    await page.waitForSelector('[data-testid="flamegraph-tooltip"]', { state: 'visible' });
    const tip = await page.textContent('[data-testid="flamegraph-tooltip"]');
    assert.equal(tip, `${EVIL} (30 samples, 23.1%)`);
    const box = (await page.locator('[data-testid="flamegraph-hover"]').boundingBox())!;
    assert.ok(box, 'the hover outline is shown');
    assert.ok(Math.abs(box.x - evil.x) < 1 && Math.abs(box.width - evil.width) < 1, 'hover outline sits on the frame');
    // a redraw (live update, resize) keeps the outline on the hovered frame (it used to hide it while
    // the tooltip stayed: a redraw right after the mousemove left the outline gone)
    await page.evaluate(() => (window as any).fg.redraw());
    const again = await page.locator('[data-testid="flamegraph-hover"]').boundingBox();
    assert.ok(again && Math.abs(again.x - evil.x) < 1 && Math.abs(again.width - evil.width) < 1, 'the outline stays on the frame after a redraw');
    assert.equal(await page.textContent('[data-testid="flamegraph-details"]'), tip);
    assert.equal(await page.textContent('[data-testid="flamegraph-title"]'), EVIL);
    const scr = (await rect([EVIL, 'evil', '<script>alert(2)</script>']))!;
    await page.mouse.move(scr.x + scr.width / 2, scr.y + scr.height / 2);
    assert.match((await page.textContent('[data-testid="flamegraph-tooltip"]'))!, /^<script>alert\(2\)<\/script> \(30 samples/);
    await page.mouse.click(evil.x + evil.width / 2, evil.y + evil.height / 2);
    await page.screenshot({ path: screenshotPath('flamegraph-xss.png') });
    await page.waitForTimeout(200);
    assert.equal(await page.locator('img').count(), 0, 'no <img> element was created');
    assert.equal(await page.locator('#app script').count(), 0, 'no <script> element was created');
    assert.deepEqual(dialogs, [], 'no dialog opened');
    assert.deepEqual(errors, [], 'no page error');
  });

  it('off-CPU is blue, wakeup chains colour the waker part apart, separators grey', async () => {
    await create({}, 'tar;main;read;io_schedule_[k] 50\ntar;main;write 10', 'offcputime');
    const r = (await rect(['tar', 'main', 'read']))!;
    const p = await pixel(r.x + 3, r.y + 3);
    assert.ok(p[2] > 200 && p[2] > p[0] + 60, `off-CPU frames are blue, got ${p}`);
    await create({}, 'tar;read;schedule_[k];--;try_to_wake_up_[k];kworker 40', 'offwaketime');
    const blocked = (await rect(['tar', 'read', 'schedule']))!;
    const sep = (await rect(['tar', 'read', 'schedule', '--']))!;
    const waker = (await rect(['tar', 'read', 'schedule', '--', 'try_to_wake_up']))!;
    const pb = await pixel(blocked.x + 3, blocked.y + 3);
    const ps = await pixel(sep.x + 3, sep.y + 3);
    const pw = await pixel(waker.x + 3, waker.y + 3);
    assert.ok(pb[2] > pb[0] + 60, `blocked part blue, got ${pb}`);
    assert.deepEqual(ps, [200, 200, 200], 'separator grey');
    assert.ok(pw[0] > pb[0] + 40 && pw[2] > 180, `waker part violet, got ${pw}`);
    await page.screenshot({ path: screenshotPath('flamegraph-wakeup.png') });
  });

  it('a downloaded SVG is coloured like the canvas, frame by frame (one palette)', async () => {
    const cases: [string, string | undefined, string[][]][] = [
      [
        'node;start;main;work;compute 40\nnode;start;main;io;read_[k] 10\nnode;start;gc_[j] 10',
        undefined,
        [['node'], ['node', 'start', 'main', 'work'], ['node', 'start', 'main', 'io', 'read'], ['node', 'start', 'gc']],
      ],
      ['tar;main;read;io_schedule_[k] 50\ntar;main;write 10', 'offcputime', [['tar'], ['tar', 'main', 'read'], ['tar', 'main', 'read', 'io_schedule']]],
      [
        'tar;read;schedule_[k];--;try_to_wake_up_[k];kworker 40',
        'offwaketime',
        [
          ['tar', 'read', 'schedule'],
          ['tar', 'read', 'schedule', '--'],
          ['tar', 'read', 'schedule', '--', 'try_to_wake_up'],
          ['tar', 'read', 'schedule', '--', 'try_to_wake_up', 'kworker'],
        ],
      ],
    ];
    for (const [folded, tool, paths] of cases) {
      await create({}, folded, tool);
      const svg: string = await page.evaluate(() => (window as any).viz.toSvg((window as any).profile));
      for (const path of paths) {
        const r = (await rect(path))!;
        const canvas = await pixel(r.x + 2, r.y + 2);
        const name = path.at(-1)!.replace(/[-[\]*().]/g, '\\$&');
        const m = new RegExp(`<title>${name} \\([^<]*</title><rect [^>]*fill="rgb\\((\\d+),(\\d+),(\\d+)\\)"`).exec(svg);
        assert.ok(m, `${path.join(';')} is in the SVG`);
        assert.deepEqual(canvas, m.slice(1).map(Number), `${tool ?? 'profile'} ${path.join(';')}: canvas pixel = SVG fill`);
      }
    }
  });

  it('differential: widths from the new profile, red grew, blue shrank', async () => {
    await page.evaluate(() => {
      const w = window as any;
      w.fg?.destroy();
      w.fg = w.bpfs.createFlameGraph(document.getElementById('app'), { title: 'diff' });
      const before = w.bpfs.profileFromFolded('app;main;fast 50\napp;main;slow 50');
      const afterP = w.bpfs.profileFromFolded('app;main;fast 20\napp;main;slow 80\napp;main;same 0');
      w.fg.setData(afterP, { baseline: before });
    });
    await page.waitForSelector('[data-testid="flamegraph"][data-state="ready"]');
    const root = (await rect([]))!;
    const slow = (await rect(['app', 'main', 'slow']))!;
    const fast = (await rect(['app', 'main', 'fast']))!;
    assert.ok(Math.abs(slow.width - root.width * 0.8) < 1, 'width from the new profile');
    const ps = await pixel(slow.x + slow.width / 2, slow.y + 3);
    const pf = await pixel(fast.x + fast.width / 2, fast.y + 3);
    assert.ok(ps[0] > 200 && ps[2] < 100, `grown frame red, got ${ps}`);
    assert.ok(pf[2] > 200 && pf[0] < 100, `shrunk frame blue, got ${pf}`);
    await page.mouse.move(slow.x + slow.width / 2, slow.y + 3);
    assert.equal(await page.textContent('[data-testid="flamegraph-tooltip"]'), 'slow (80 samples, 80.0%), +30 samples vs baseline (+60.0%)');
    await page.screenshot({ path: screenshotPath('flamegraph-diff.png') });
  });

  it('toolbar: false leaves search box and reset out of the DOM; the API still searches', async () => {
    await create({ toolbar: false });
    assert.equal(await page.locator('[data-testid="search-input"]').count(), 0);
    assert.equal(await page.locator('[data-testid="reset-zoom"]').count(), 0);
    const m = await page.evaluate(() => (window as any).fg.search('gzip'));
    assert.equal(m.matched, 20);
    assert.equal(await page.getAttribute('[data-testid="flamegraph"]', 'data-match-share'), (20 / 130).toFixed(6));
  });

  it('draws a 20k-stack profile with the drawn frame count bounded by the pixels', async () => {
    await page.evaluate(() => {
      const w = window as any;
      w.fg?.destroy();
      w.fg = w.bpfs.createFlameGraph(document.getElementById('app'), { title: '20k stacks' });
      w.fg.setData(w.bpfs.profileFromFolded(w.bpfs.randomFolded(20000, 7)));
    });
    await page.waitForSelector('[data-testid="flamegraph"][data-state="ready"]');
    const drawn = Number(await page.getAttribute('[data-testid="flamegraph"]', 'data-frames'));
    const nodes = await page.evaluate(() => (window as any).fg.layout.tree.count);
    assert.ok(nodes > 50000, `tree has ${nodes} nodes`);
    assert.ok(drawn > 100 && drawn < nodes / 5, `drew ${drawn} of ${nodes} nodes`);
    await page.screenshot({ path: screenshotPath('flamegraph-20k.png') });
  });
});
