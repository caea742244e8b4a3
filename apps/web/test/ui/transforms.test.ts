/** Transforms and view modes of the flame graph views: what each one draws, and the view store's actions. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importFolded, toFolded, type Profile } from '@bpfscope/viz';
import { applyTransforms, frameActions, profileForMode, pushTransform, sandwich, transformLabel, type Transform } from '../../lib/transforms';
import { createViewStore, pickView } from '../../stores/view';
import { parseView, serializeView } from '../../lib/view-url';

const P = importFolded(
  ['app;main;parse;lex 5', 'app;main;render;draw+0x10 3', 'app;main;render;draw+0x24 2', 'app;main;fib;fib;fib;add 4', 'app;main;render;fib;add 1'].join('\n'),
);

const folded = (p: Profile) => toFolded(p).trim().split('\n').filter(Boolean).sort();

test('transforms apply in order through viz ops', () => {
  const t: Transform[] = [{ kind: 'merge-function' }, { kind: 'focus-subtree', path: ['app', 'main', 'render'] }];
  assert.deepEqual(folded(applyTransforms(P, t)), ['render;draw 5', 'render;fib;add 1']);
  assert.deepEqual(
    folded(
      applyTransforms(P, [
        { kind: 'exclude', name: 'render' },
        { kind: 'collapse-recursion', name: 'fib' },
      ]),
    ),
    ['app;main;fib;add 4', 'app;main;parse;lex 5'],
  );
  assert.deepEqual(folded(applyTransforms(P, [{ kind: 'focus-function', name: 'fib' }])), ['fib;add 1', 'fib;fib;fib;add 4']);
  assert.equal(applyTransforms(P, []), P, 'no transforms: the same profile object (no rebuild)');
});

test('inverted and sandwich views', () => {
  const inv = folded(profileForMode(P, 'inverted'));
  assert.ok(inv.includes('lex;parse;main;app 5'), inv.join('|'));
  assert.equal(profileForMode(P, 'flame'), P);
  const s = sandwich(P, 'fib');
  assert.deepEqual(folded(s.callers), ['fib;fib;fib;main;app 4', 'fib;render;main;app 1']);
  assert.deepEqual(folded(s.callees), ['fib;add 1', 'fib;fib;fib;add 4']);
});

test('chips name the frame as text; the same transform is not stacked twice', () => {
  const t: Transform = { kind: 'exclude', name: '<b>x</b>' };
  assert.equal(transformLabel(t), 'Exclude: <b>x</b>');
  assert.equal(pushTransform([t], { kind: 'exclude', name: '<b>x</b>' }).length, 1);
  assert.equal(pushTransform([t], { kind: 'merge-function' }).length, 2);
});

test('view store: transforms and modes reset the zoom, chips remove one transform, r resets everything; the URL follows', () => {
  const v = createViewStore({ zoom: ['app', 'main'] });
  v.getState().addTransform({ kind: 'exclude', name: 'poll' });
  assert.deepEqual(v.getState().zoom, []);
  v.getState().addTransform({ kind: 'merge-function' });
  v.getState().setZoom(['app']);
  v.getState().showSandwich('fib');
  assert.equal(v.getState().mode, 'sandwich');
  assert.equal(v.getState().fn, 'fib');
  assert.deepEqual(v.getState().zoom, []);
  const url = serializeView(pickView(v.getState()));
  assert.equal(url, 'view=sandwich&fn=fib&t=x%3Apoll&t=merge');
  // a copied link reopens the same view
  const again = createViewStore(parseView(url));
  assert.deepEqual(pickView(again.getState()), pickView(v.getState()));
  v.getState().removeTransform(0);
  assert.deepEqual(v.getState().transforms, [{ kind: 'merge-function' }]);
  v.getState().setMode('inverted');
  assert.equal(v.getState().mode, 'inverted');
  v.getState().resetView();
  assert.equal(serializeView(pickView(v.getState())), '');
});

test('frame menu: subtree focus where the frame has a path (inverted on the inverted graph), merge once, sandwich where offered', () => {
  const ids = (a: ReturnType<typeof frameActions>) => a.map((x) => x.id);
  const flame = frameActions({ name: 'render', path: ['app', 'main', 'render'] }, 'flame', []);
  assert.deepEqual(ids(flame), ['focus-subtree', 'focus-function', 'exclude', 'collapse-recursion', 'sandwich', 'merge', 'copy']);
  assert.deepEqual((flame[0] as { transform: Transform }).transform, { kind: 'focus-subtree', path: ['app', 'main', 'render'] });
  const inv = frameActions({ name: 'render', path: ['draw', 'render'] }, 'inverted', []);
  assert.deepEqual((inv[0] as { transform: Transform }).transform, { kind: 'focus-subtree', path: ['draw', 'render'], inverted: true });
  // a table row or a frame of a sandwich graph has no path of the drawn graph: no subtree focus
  assert.equal(ids(frameActions({ name: 'render' }, 'flame', []))[0], 'focus-function');
  assert.equal(ids(frameActions({ name: 'render', path: ['render', 'main'] }, 'sandwich', []))[0], 'focus-function');
  // compare offers no sandwich
  assert.ok(!ids(frameActions({ name: 'x' }, 'flame', [], { sandwich: false })).includes('sandwich'));
  // merge is whole-profile: the only item of the root, disabled once applied
  assert.deepEqual(ids(frameActions({ name: 'all', root: true }, 'flame', [])), ['merge']);
  const m = frameActions({ name: 'x' }, 'flame', [{ kind: 'merge-function' }]).find((a) => a.id === 'merge')!;
  assert.equal('disabled' in m && m.disabled, true);
  // the untrusted name goes into the transform as it is
  const evil = '<img src=x onerror=alert(1)>';
  const ex = frameActions({ name: evil }, 'flame', []).find((a) => a.id === 'exclude')!;
  assert.deepEqual((ex as { transform: Transform }).transform, { kind: 'exclude', name: evil });
});
