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
