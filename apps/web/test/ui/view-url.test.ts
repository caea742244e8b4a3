/** View state <-> URL query. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_VIEW, parseView, serializeView } from '../../lib/view-url';

test('defaults serialize to an empty query', () => {
  assert.equal(serializeView(DEFAULT_VIEW), '');
  assert.deepEqual(parseView(''), DEFAULT_VIEW);
});

test('zoom, search, range and orientation round-trip, untrusted names included', () => {
  const v = {
    ...DEFAULT_VIEW,
    zoom: ['busy', 'main', '<img src=x onerror=alert(1)>', 'a&b=c #d'],
    q: '^spin$|work?',
    range: [120, 2340.5] as [number, number],
    orientation: 'icicle' as const,
  };
  const qs = serializeView(v);
  assert.match(qs, /(^|&)o=icicle(&|$)/);
  assert.match(qs, /(^|&)range=120-2340\.5(&|$)/);
  assert.deepEqual(parseView(qs), v);
  assert.deepEqual(parseView('?' + qs), v);
});

test('the contract format: ?zoom=<path>&q=<search>&range=<start>-<end>&o=icicle', () => {
  const v = parseView('zoom=node%3Bmain%3Bwork&q=work&range=1000-2000&o=icicle');
  assert.deepEqual(v.zoom, ['node', 'main', 'work']);
  assert.equal(v.q, 'work');
  assert.deepEqual(v.range, [1000, 2000]);
  assert.equal(v.orientation, 'icicle');
});

test('bad values fall back to defaults instead of breaking the view', () => {
  const v = parseView('range=5-1&o=sideways&col=x&abs=yes');
  assert.equal(v.range, null);
  assert.equal(v.orientation, 'flame');
  assert.equal(v.column, null);
  assert.equal(v.absolute, false);
  assert.equal(parseView('range=abc').range, null);
});

test('compare and latency extras round-trip', () => {
  const v = { ...DEFAULT_VIEW, absolute: true, reversed: true, key: 'nvme0n1', column: 7 };
  assert.deepEqual(parseView(serializeView(v)), v);
});

test('view mode, sandwich function and transforms round-trip in order, untrusted names included', () => {
  const v = {
    ...DEFAULT_VIEW,
    mode: 'sandwich' as const,
    fn: '<img src=x onerror=alert(1)>',
    transforms: [
      { kind: 'focus-subtree' as const, path: ['app', 'main', 'a&b=c #d'] },
      { kind: 'exclude' as const, name: 'x:y;z' },
      { kind: 'merge-function' as const },
      { kind: 'focus-subtree' as const, path: ['leaf', 'caller'], inverted: true },
      { kind: 'collapse-recursion' as const, name: 'fib' },
      { kind: 'focus-function' as const, name: 'std::vector<int>::push_back(int&&)' },
    ],
  };
  const qs = serializeView(v);
  assert.deepEqual(parseView(qs), v);
  // the contract: one t= per transform, in order
  const p = new URLSearchParams(qs);
  assert.deepEqual(p.getAll('t'), ['focus:app;main;a&b=c #d', 'x:x:y;z', 'merge', 'focusi:leaf;caller', 'rec:fib', 'fn:std::vector<int>::push_back(int&&)']);
  assert.equal(p.get('view'), 'sandwich');
  assert.equal(parseView('view=inverted').mode, 'inverted');
});

test('unknown view modes and transforms are ignored, the rest of the link still applies', () => {
  const v = parseView('view=sideways&t=bogus:1&t=x:&t=merge&t=nocolon&t=x:poll&q=a');
  assert.equal(v.mode, 'flame');
  assert.deepEqual(v.transforms, [{ kind: 'merge-function' }, { kind: 'exclude', name: 'poll' }]);
  assert.equal(v.q, 'a');
});
