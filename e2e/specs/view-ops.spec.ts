/**
 * Flame graph operations through the page, on a folded file with known stacks: inverted roots,
 * sandwich callers/callees, focus / exclude / merge from a frame's menu (mouse and keyboard),
 * transforms as removable chips and in the URL (a copied link reopens the same view).
 * Drawn frames are read from the canvas renderer itself: a row of the graph is swept with mouse
 * events and the frame under each point is read from the details line (the renderer's hit test).
 */
import { test, expect, type Locator, type Page } from '@playwright/test';
import { HOT_FN, shot, startBurn, uploadSnapshot, waitReady } from '../helpers.js';

test.use({ viewport: { width: 1280, height: 1000 } });

// total 110; lex is a leaf under parse (30) and render (10); write has two offsets
const FOLDED = [
  'app;main;parse;lex 30',
  'app;main;render;draw 20',
  'app;main;render;lex 10',
  'app;main;compute;fib;fib;add 25',
  'app;main;compute;add 15',
  'app;main;io;write+0x10 6',
  'app;main;io;write+0x24 4',
].join('\n');

const ROW_H = 17; // the renderer's default row height

/**
 * The frames drawn in one row (depth; 1 = the row above/below "all") of a graph, left to right:
 * each frame's name and the viewport point where the pointer first lands on it.
 */
async function rowFrames(graph: Locator, depth: number): Promise<{ name: string; x: number; y: number }[]> {
  const fg = graph.getByTestId('flamegraph');
  await expect(fg).toHaveAttribute('data-state', 'ready');
  await fg.locator('canvas').scrollIntoViewIfNeeded();
  return fg.evaluate(
    (root, { depth, rowH }) => {
      const canvas = root.querySelector('canvas')!;
      const details = root.querySelector('[data-testid="flamegraph-details"]')!;
      const r = canvas.getBoundingClientRect();
      const maxDepth = Math.round(r.height / rowH) - 1;
      const row = root.getAttribute('data-orientation') === 'icicle' ? depth : maxDepth - depth;
      const y = r.top + row * rowH + rowH / 2;
      // one entry per frame: consecutive points on the same frame give the same details text
      const frames: { name: string; x: number; y: number }[] = [];
      let last = '';
      for (let x = r.left + 1; x < r.right - 1; x += 3) {
        canvas.dispatchEvent(new MouseEvent('mousemove', { clientX: x, clientY: y, bubbles: true }));
        const t = (details.textContent ?? '').trim();
        if (!t || t === last) continue;
        last = t;
        // "name (value, share)" and, in a comparison, ", ±delta vs baseline (±x%)" after it
        const m = /^(.*?) \(\d/.exec(t);
        frames.push({ name: m ? m[1]! : t, x, y });
      }
      canvas.dispatchEvent(new MouseEvent('mouseleave'));
      return frames;
    },
    { depth, rowH: ROW_H },
  );
}

/** The names drawn in one row of a graph, left to right. */
async function rowNames(graph: Locator, depth: number): Promise<string[]> {
  return (await rowFrames(graph, depth)).map((f) => f.name);
}

/** The viewport point of the first frame named `name` in a row (a little inside its left edge). */
async function framePoint(graph: Locator, depth: number, name: string): Promise<{ x: number; y: number }> {
  const f = (await rowFrames(graph, depth)).find((f) => f.name === name);
  expect(f, `frame ${name} at depth ${depth}`).toBeDefined();
  return { x: f!.x + 6, y: f!.y };
}

async function frameMenu(page: Page, graph: Locator, depth: number, name: string): Promise<Locator> {
  const at = await framePoint(graph, depth, name);
  await page.mouse.click(at.x, at.y, { button: 'right' });
  const menu = page.getByTestId('frame-menu');
  await expect(menu).toBeVisible();
  await expect(menu.getByTestId('frame-menu-title')).toHaveText(name);
  return menu;
}

test('inverted, sandwich, focus, exclude and merge from the frame menu; the URL reopens the view', async ({ page, baseURL }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const id = await uploadSnapshot(baseURL!, FOLDED, 'name=view-ops&format=folded');
  await page.goto(`/s/${id}`);
  await waitReady(page, 'flamegraph');
  const main = page.getByTestId('graph-flame');
  expect(await rowNames(main, 1)).toEqual(['app']);
  expect(await rowNames(main, 3)).toEqual(['compute', 'io', 'parse', 'render']);

  // inverted: the leaves are the roots, their callers above them
  await page.getByTestId('view-inverted').click();
  await expect(page).toHaveURL(/[?&]view=inverted/);
  const inv = page.getByTestId('graph-inverted');
  expect(await rowNames(inv, 1)).toEqual(['add', 'draw', 'lex', 'write+0x10', 'write+0x24']);
  expect(await rowNames(inv, 2)).toEqual(['compute', 'fib', 'render', 'parse', 'render', 'io', 'io']);
  await shot(page, 'view-ops-inverted');

  // merge by function from a frame's menu: the two offsets of write become one root
  await (await frameMenu(page, inv, 1, 'write+0x10')).getByTestId('menu-merge').click();
  await expect(page.getByTestId('transform-chip')).toHaveText(['Merge by function×']);
  expect(await rowNames(inv, 1)).toEqual(['add', 'draw', 'lex', 'write']);
  // focus on a subtree of the inverted tree: lex called from parse
  await (await frameMenu(page, inv, 2, 'parse')).getByTestId('menu-focus-subtree').click();
  await expect(page.getByTestId('transform-chip')).toHaveCount(2);
  expect(await rowNames(inv, 1)).toEqual(['parse']);
  expect(await rowNames(inv, 2)).toEqual(['main']);
  // the chips are removable: drop the focus, keep the merge
  await page.getByTestId('transform-chip').nth(1).getByTestId('transform-remove').click();
  await expect(page.getByTestId('transform-chip')).toHaveText(['Merge by function×']);
  expect(await rowNames(inv, 1)).toEqual(['add', 'draw', 'lex', 'write']);

  // sandwich of render, picked from its frame menu in the flame graph
  await page.getByTestId('view-flame').click();
  const renderMenu = await frameMenu(page, main, 3, 'render');
  await expect(renderMenu.getByRole('menuitem')).toHaveText([
    'Focus on this frame (subtree)',
    'Focus on function (all its calls merged)',
    'Exclude function (drop its stacks)',
    'Collapse recursion',
    'Sandwich: callers and callees',
    'Merged by function',
    'Copy name',
  ]);
  await shot(page, 'view-ops-frame-menu');
  await page.keyboard.press('Escape');
  // collapse the recursion of fib: add directly above the one fib
  expect(await rowNames(main, 5)).toEqual(['fib']);
  await (await frameMenu(page, main, 4, 'fib')).getByTestId('menu-collapse-recursion').click();
  await expect(page.getByTestId('transform-chip')).toHaveText(['Merge by function×', 'Collapse recursion: fib×']);
  expect(await rowNames(main, 5)).toEqual(['add']);
  await page.getByTestId('transform-chip').nth(1).getByTestId('transform-remove').click();
  await expect(page.getByTestId('transform-chip')).toHaveCount(1);
  await (await frameMenu(page, main, 3, 'render')).getByTestId('menu-sandwich').click();
  await expect(page.getByTestId('sandwich')).toHaveAttribute('data-fn', 'render');
  await expect(page).toHaveURL(/[?&]view=sandwich/);
  await expect(page).toHaveURL(/[?&]fn=render/);
  const callers = page.getByTestId('sandwich-callers');
  const callees = page.getByTestId('sandwich-callees');
  expect(await rowNames(callers, 1)).toEqual(['render']);
  expect(await rowNames(callers, 2)).toEqual(['main']);
  expect(await rowNames(callers, 3)).toEqual(['app']);
  expect(await rowNames(callees, 1)).toEqual(['render']);
  expect(await rowNames(callees, 2)).toEqual(['draw', 'lex']);
  // the top-functions table picks another function: lex is called from parse and render
  await page.getByTestId('top-functions').getByRole('link', { name: 'lex', exact: true }).click();
  await expect(page.getByTestId('sandwich')).toHaveAttribute('data-fn', 'lex');
  expect(await rowNames(callers, 2)).toEqual(['parse', 'render']);
  expect(await rowNames(callees, 2)).toEqual([]);
  await shot(page, 'view-ops-sandwich');

  // keyboard: a row's ⋯ button opens the menu, arrows move, Enter picks; Esc closes and gives the focus back
  await page.getByTestId('view-flame').click();
  const fibRow = page
    .getByTestId('top-functions')
    .getByRole('row')
    .filter({ has: page.getByRole('link', { name: 'fib', exact: true }) });
  const more = fibRow.getByTestId('top-menu');
  await more.focus();
  await page.keyboard.press('Enter');
  const menu = page.getByTestId('frame-menu');
  await expect(menu.getByTestId('frame-menu-title')).toHaveText('fib');
  await expect(menu.getByTestId('menu-focus-function')).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(menu).toHaveCount(0);
  await expect(more).toBeFocused();
  await page.keyboard.press('Enter');
  await page.keyboard.press('ArrowDown');
  await expect(menu.getByTestId('menu-exclude')).toBeFocused();
  await page.keyboard.press('Enter');
  // exclude fib: compute keeps only its direct add
  await expect(page.getByTestId('transform-chip')).toHaveText(['Merge by function×', 'Exclude: fib×']);
  expect(await rowNames(main, 3)).toEqual(['compute', 'io', 'parse', 'render']);
  expect(await rowNames(main, 4)).toEqual(['add', 'write', 'lex', 'draw', 'lex']);
  await expect(page.getByTestId('top-functions')).not.toContainText('fib');

  // focus on a function merges all its calls: lex under parse and under render
  await (await frameMenu(page, main, 4, 'lex')).getByTestId('menu-focus-function').click();
  expect(await rowNames(main, 1)).toEqual(['lex']);
  await expect(page.getByTestId('transform-chip')).toHaveCount(3);
  await shot(page, 'view-ops-focus');

  // a copied link reopens the same view, transforms in order
  const url = page.url();
  expect(new URL(url).searchParams.getAll('t')).toEqual(['merge', 'x:fib', 'fn:lex']);
  const p2 = await page.context().newPage();
  await p2.goto(url);
  await waitReady(p2, 'flamegraph');
  await expect(p2.getByTestId('transform-chip')).toHaveText(['Merge by function×', 'Exclude: fib×', 'Focus function: lex×']);
  expect(await rowNames(p2.getByTestId('graph-flame'), 1)).toEqual(['lex']);
  await p2.close();

  // r resets the whole view
  await page.bringToFront();
  await page.keyboard.press('r');
  await expect(page.getByTestId('transform-chip')).toHaveCount(0);
  expect(await rowNames(main, 3)).toEqual(['compute', 'io', 'parse', 'render']);

  // Shift+F10 on the focused graph opens the menu of the zoomed frame (the root: only global items)
  await main.locator('canvas').focus();
  await page.keyboard.press('Shift+F10');
  await expect(page.getByTestId('frame-menu-title')).toHaveText('all (the whole profile)');
  await expect(page.getByTestId('frame-menu').getByRole('menuitem')).toHaveCount(1);
  await shot(page, 'view-ops-menu');
  await page.keyboard.press('Escape');
  // the arrow keys move a frame cursor (drawn, announced): all → app → main → the frame above main's middle, then right
  await expect(main.locator('canvas')).toBeFocused();
  const said = main.getByTestId('frame-cursor-text');
  await page.keyboard.press('ArrowUp');
  await expect(said).toHaveText(/^all: 110/);
  for (const name of ['app', 'main', 'parse']) {
    await page.keyboard.press('ArrowUp');
    await expect(said).toHaveText(new RegExp(`^${name}: `));
  }
  await page.keyboard.press('ArrowRight');
  await expect(said).toHaveText(/^render: 30 samples, 27\.3%$/);
  await expect(main.getByTestId('frame-cursor')).toBeVisible();
  await shot(page, 'view-ops-keyboard-cursor');
  // its menu from the keyboard: the first item focuses on the subtree
  await page.keyboard.press('Shift+F10');
  await expect(page.getByTestId('frame-menu-title')).toHaveText('render');
  await expect(page.getByTestId('menu-focus-subtree')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('transform-chip')).toHaveText(['Focus: render×']);
  expect(await rowNames(main, 1)).toEqual(['render']);
  // Enter zooms to the cursor's frame
  await main.locator('canvas').focus();
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('Enter');
  await expect(main.getByTestId('flamegraph')).toHaveAttribute('data-zoom', /"render","draw"|"render","lex"/);
  expect(errors).toEqual([]);
});

test('frame names stay text in the menu, the chips and the sandwich; Copy name copies the exact name', async ({ page, context, baseURL }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const evil = '<img src=x onerror=alert(1)>';
  const dialogs: string[] = [];
  page.on('dialog', async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  const id = await uploadSnapshot(baseURL!, `app;${evil};leaf 10\napp;other 10\n`, 'name=view-ops-xss&format=folded');
  await page.goto(`/s/${id}`);
  await waitReady(page, 'flamegraph');
  const main = page.getByTestId('graph-flame');
  await (await frameMenu(page, main, 2, evil)).getByTestId('menu-exclude').click();
  await expect(page.getByTestId('transform-chip')).toHaveText([`Exclude: ${evil}×`]);
  expect(await rowNames(main, 2)).toEqual(['other']);
  await page.getByTestId('transform-remove').click();
  await (await frameMenu(page, main, 2, evil)).getByTestId('menu-sandwich').click();
  await expect(page.getByTestId('sandwich')).toContainText(`Callers of ${evil}`);
  await page.getByTestId('view-flame').click();
  // open the menu once more so it is in the DOM while we look for markup
  const menu = await frameMenu(page, main, 2, evil);
  expect(await page.locator('img[src="x"]').count()).toBe(0);
  await menu.getByTestId('menu-copy').click();
  await expect(page.getByTestId('view-status')).toHaveText(`Copied “${evil}”`);
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(evil);
  expect(dialogs).toEqual([]);
});

test('compare: transforms apply to both sides, the inverted view inverts both', async ({ page, baseURL }) => {
  const before = await uploadSnapshot(baseURL!, 'app;main;parse;lex 300\napp;main;render;draw 300\napp;main;io 100\n', 'name=ops-before&format=folded');
  const after = await uploadSnapshot(baseURL!, 'app;main;parse;lex 600\napp;main;render;draw 50\napp;main;render;lex 80\n', 'name=ops-after&format=folded');
  await page.goto(`/compare/${before}/${after}`);
  await waitReady(page, 'flamegraph');
  const graph = page.getByTestId('graph-flame');
  expect(await rowNames(graph, 3)).toEqual(['parse', 'render']);
  await expect(page.getByTestId('view-sandwich')).toHaveCount(0);
  // exclude render from its menu: gone from the graph and from the delta table on both sides
  const menu = await frameMenu(page, graph, 3, 'render');
  await expect(menu.getByTestId('menu-sandwich')).toHaveCount(0);
  await menu.getByTestId('menu-exclude').click();
  await expect(page).toHaveURL(/[?&]t=x%3Arender/);
  expect(await rowNames(graph, 3)).toEqual(['parse']);
  await expect(page.getByTestId('compare-delta-table')).not.toContainText('render');
  await expect(page.getByTestId('compare-delta-table')).not.toContainText('draw');
  await page.getByTestId('transform-remove').click();
  // inverted: leaves of both sides at the root (draw shrank, lex grew, io only before)
  await page.getByTestId('view-inverted').click();
  const inv = page.getByTestId('graph-inverted');
  expect(await rowNames(inv, 1)).toEqual(['draw', 'lex']);
  expect(await rowNames(inv, 2)).toEqual(['render', 'parse', 'render']);
  // coloured by the total change (inverted, only the roots have self time): draw blue, lex red, down to their callers
  const colour = async (depth: number, name: string) => {
    const at = await framePoint(inv, depth, name);
    return inv.locator('canvas').evaluate((c: HTMLCanvasElement, at) => {
      const r = c.getBoundingClientRect();
      const k = c.width / r.width;
      // 7 px above the row's middle: inside the frame's fill, above its label's glyphs
      const d = c.getContext('2d')!.getImageData(Math.round((at.x - r.left) * k), Math.round((at.y - 7 - r.top) * k), 1, 1).data;
      return d[2]! - d[0]! > 60 ? 'blue' : d[0]! - d[2]! > 60 ? 'red' : `rgb(${d[0]},${d[1]},${d[2]})`;
    }, at);
  };
  expect(await colour(1, 'draw')).toBe('blue');
  expect(await colour(2, 'render')).toBe('blue');
  expect(await colour(1, 'lex')).toBe('red');
  expect(await colour(2, 'parse')).toBe('red');
  await shot(page, 'view-ops-compare-inverted');
});

test('live capture: the view switch works while the graph grows; inverted roots and the sandwich of the hot leaf', async ({ page }) => {
  const w = startBurn({ secs: 40 });
  try {
    await page.goto('/');
    await page.getByTestId('tool-profile').click();
    await page.getByTestId('duration-input').fill('4');
    await page.getByTestId('pid-input').fill(String(w.pid));
    await expect(page.getByTestId('start-capture')).toBeEnabled({ timeout: 20_000 });
    await page.getByTestId('start-capture').click();
    const fg = page.getByTestId('flamegraph').first();
    await expect.poll(async () => Number((await fg.getAttribute('data-frames')) ?? 0), { timeout: 15_000 }).toBeGreaterThan(0);
    // switch while the capture is still running: the live deltas keep arriving into the inverted view
    await page.getByTestId('view-inverted').click();
    await expect(page.getByTestId('capture-progress')).toHaveAttribute('data-phase', 'done', { timeout: 20_000 });
    const inv = page.getByTestId('graph-inverted');
    await waitReady(page, 'flamegraph');
    expect(await rowNames(inv, 1)).toContain(HOT_FN);
    // the hot leaf's sandwich from its Top functions row
    const row = page
      .getByTestId('top-functions')
      .getByRole('row')
      .filter({ has: page.getByRole('link', { name: HOT_FN, exact: true }) });
    await row.getByTestId('top-menu').click();
    await page.getByTestId('frame-menu').getByTestId('menu-sandwich').click();
    await expect(page.getByTestId('sandwich')).toHaveAttribute('data-fn', HOT_FN);
    expect(await rowNames(page.getByTestId('sandwich-callers'), 2)).toContain('bpfscope_e2e_outer');
    expect(await rowNames(page.getByTestId('sandwich-callees'), 1)).toEqual([HOT_FN]);
    await shot(page, 'view-ops-live-sandwich');
  } finally {
    await w.stop();
  }
});
