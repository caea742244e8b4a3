// Folded-line layout per tool, checked against bcc's tools/*.py (-f) output order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StackRecord, SymbolizedFrame } from '@bpfscope/bpf';
import { foldRecord, foldedLine } from '../src/fold.js';

const u = (...names: string[]): SymbolizedFrame[] => names.map((name) => ({ name, kind: 'user' }));
const k = (...names: string[]): SymbolizedFrame[] => names.map((name) => ({ name, kind: 'kernel' }));
const names = (tool: Parameters<typeof foldRecord>[0], r: StackRecord, delimited = false) => foldRecord(tool, r, { delimited }).map((f) => f.name);

const rec: StackRecord = {
  pid: 10,
  tid: 11,
  comm: 'app',
  user: u('_start', 'main', 'spin'),
  kernel: k('asm_sysvec_apic_timer_interrupt', 'sysvec_apic_timer_interrupt'),
  value: 7,
};

test('profile/offcputime: comm; user root..leaf; kernel root..leaf', () => {
  for (const tool of ['profile', 'offcputime'] as const) {
    assert.deepEqual(names(tool, rec), ['app', '_start', 'main', 'spin', 'asm_sysvec_apic_timer_interrupt', 'sysvec_apic_timer_interrupt']);
    assert.deepEqual(names(tool, rec, true), ['app', '_start', 'main', 'spin', '-', 'asm_sysvec_apic_timer_interrupt', 'sysvec_apic_timer_interrupt']);
  }
});

test('-d puts no delimiter next to a missing or absent stack (bcc checks both stack ids)', () => {
  assert.deepEqual(names('profile', { ...rec, user: [] }, true), ['app', 'asm_sysvec_apic_timer_interrupt', 'sysvec_apic_timer_interrupt']);
  assert.deepEqual(names('profile', { ...rec, user: [], userMissing: true }, true), [
    'app',
    '[Missed User Stack]',
    'asm_sysvec_apic_timer_interrupt',
    'sysvec_apic_timer_interrupt',
  ]);
  assert.deepEqual(names('offcputime', { ...rec, kernel: [], kernelMissing: true }, true), ['app', '_start', 'main', 'spin', '[Missed Kernel Stack]']);
});

test('wakeuptime: waker comm; waker kernel root..leaf; target comm (bcc wakeuptime.py -f)', () => {
  const r: StackRecord = {
    pid: 1,
    tid: 1,
    comm: 'reader',
    user: [],
    kernel: [],
    waker: { pid: 2, comm: 'writer', user: [], kernel: k('entry_SYSCALL_64', 'ksys_write', 'pipe_write', '__wake_up_sync_key') },
    value: 100,
  };
  assert.deepEqual(names('wakeuptime', r), ['writer', 'entry_SYSCALL_64', 'ksys_write', 'pipe_write', '__wake_up_sync_key', 'reader']);
});

test('offwaketime: target stacks root first, --, waker stacks leaf first, waker comm on top', () => {
  const r: StackRecord = {
    pid: 1,
    tid: 1,
    comm: 'reader',
    user: u('main', 'read'),
    kernel: k('entry_SYSCALL_64', 'pipe_read', 'schedule'),
    waker: { pid: 2, comm: 'writer', user: u('main', 'write'), kernel: k('entry_SYSCALL_64', 'pipe_write', 'try_to_wake_up') },
    value: 5,
  };
  // root to leaf: the target's comm, user and kernel stacks, then the waker's kernel and user stacks
  // leaf first, the waker's comm last; with delimiters, '-' between user and kernel on each side
  const target = ['reader', 'main', 'read'];
  const targetKernel = ['entry_SYSCALL_64', 'pipe_read', 'schedule'];
  const wakerKernel = ['try_to_wake_up', 'pipe_write', 'entry_SYSCALL_64'];
  const waker = ['write', 'main', 'writer'];
  assert.deepEqual(names('offwaketime', r), [...target, ...targetKernel, '--', ...wakerKernel, ...waker]);
  assert.deepEqual(names('offwaketime', r, true), [...target, '-', ...targetKernel, '--', ...wakerKernel, '-', ...waker]);
});

test('foldedLine keeps the line parseable: ; and newlines in names are replaced', () => {
  const line = foldedLine(foldRecord('profile', { ...rec, comm: 'a;b\nc', user: u('x;y'), kernel: [] }), 3);
  assert.equal(line, 'a:b c;x:y 3');
});

test('biolatency has no stacks to fold', () => {
  assert.throws(() => foldRecord('biolatency', rec), /no stacks/);
});
