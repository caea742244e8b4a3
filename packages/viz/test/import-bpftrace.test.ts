import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importBpftrace, importProfile, countBpftraceEntries, ImportError } from '@bpfscope/viz';
import { corpusText, fixture, stackMap } from './helpers.js';

test('corpus bpftrace-profile-busy imports to 2276 samples in 951 entries', () => {
  const text = corpusText('bpftrace-profile-busy.txt');
  const p = importProfile(text);
  assert.equal(p.meta.source?.format, 'bpftrace');
  assert.equal(p.total, 2276);
  assert.equal(countBpftraceEntries(text), 951);
  // with offsets kept, every distinct map entry is its own stack (the file repeats a few keys verbatim)
  const distinct = new Set(
    text
      .split(/\n(?=@\[)/)
      .filter((e) => e.startsWith('@['))
      .map((e) => e.replace(/\]: \d+\s*$/, '')),
  ).size;
  assert.ok(distinct > 900 && distinct <= 951);
  assert.equal(importBpftrace(text, { keepOffsets: true }).stacks.length, distinct);
  // offsets stripped by default
  assert.ok(p.frames.every((f) => !/\+\d+$/.test(f.name)));
  const swapper = [...stackMap(p)].filter(([k]) => k.startsWith('swapper/'));
  assert.ok(swapper.reduce((a, [, v]) => a + v, 0) >= 603);
});

test('bpftrace excerpt: [kstack, ustack, comm] keys, empty stacks, kinds', () => {
  const p = importBpftrace(fixture('bpftrace-excerpt.txt'));
  assert.equal(p.total, 3);
  const m = stackMap(p);
  assert.equal(m.get('node'), 1, '@[, , node]: 1 is a stack of just the comm');
  assert.equal(
    m.get(
      'swapper/0;common_startup_64;x86_64_start_kernel;__pfx_clear_bss;start_kernel;rest_init;cpu_startup_entry;do_idle;cpuidle_enter;cpuidle_enter_state;default_enter_idle;default_idle;pv_native_safe_halt;asm_sysvec_apic_timer_interrupt;sysvec_apic_timer_interrupt;__irq_exit_rcu;handle_softirqs;rcu_core;rcu_do_batch;tlb_remove_table_rcu',
    ),
    1,
  );
  const nodeStack = [...m.keys()].find((k) => k.startsWith('node;0x7fe84754524a;0xc6853f'));
  assert.ok(nodeStack?.endsWith(';v8::internal::Heap::Scavenge();v8::internal::SemiSpaceNewSpace::EvacuatePrologue()'), nodeStack);
  const kind = (n: string) => p.frames.find((f) => f.name === n)!.kind;
  assert.equal(kind('tlb_remove_table_rcu'), 'kernel');
  assert.equal(kind('v8::internal::Heap::Scavenge()'), 'user');
  assert.equal(kind('JS:*sortMany /srv/demo/work.js:2:18'), 'jit');
  assert.equal(kind('0x7fe84754524a'), 'unknown');
  assert.equal(kind('node'), 'comm');
});

test('bpftrace: plain @[kstack] and @[ustack, comm] keys, named maps, perf-mode frames', () => {
  const k = importBpftrace('@[\n    vfs_read+5\n    ksys_read+100\n    do_syscall_64+50\n    entry_SYSCALL_64_after_hwframe+118\n]: 4\n');
  assert.deepEqual([...stackMap(k)], [['entry_SYSCALL_64_after_hwframe;do_syscall_64;ksys_read;vfs_read', 4]]);
  assert.ok(k.frames.every((f) => f.kind === 'kernel'));
  const u = importBpftrace('@x[\n    leaf+1\n    main+20\n, bash]: 2\n@x[\n    other+1\n, sh]: 3\n');
  assert.deepEqual([...stackMap(u)].sort(), [
    ['bash;main;leaf', 2],
    ['sh;other', 3],
  ]);
  assert.equal(u.frames.find((f) => f.name === 'main')!.kind, 'user');
  const swapped = importBpftrace('@[\n    leaf+1\n    main+2\n,\n    vfs_read+3\n, app]: 1\n', { stackKinds: ['user', 'kernel'] });
  assert.deepEqual([...stackMap(swapped)], [['app;main;leaf;vfs_read', 1]], '@[ustack, kstack, comm] with stackKinds');
  assert.equal(swapped.frames.find((f) => f.name === 'vfs_read')!.kind, 'kernel');
  const pm = importBpftrace('@[\n\t7f0000001000 leaf+0x10 (/usr/lib/libc.so.6)\n\t55550000 main+0x20 (/usr/bin/app)\n, app]: 1\n', { stackKinds: ['user'] });
  assert.deepEqual([...stackMap(pm)], [['app;main;leaf', 1]]);
});

test('bpftrace: errors name the line and the problem', () => {
  assert.throws(
    () => importBpftrace('hello\n'),
    (e: unknown) => e instanceof ImportError && e.line === 1 && /@name\[/.test(e.message),
  );
  assert.throws(
    () => importBpftrace('@[\n    f+1\n'),
    (e: unknown) => e instanceof ImportError && e.line === 1 && /never ends/.test(e.message),
  );
  assert.throws(() => importBpftrace('@a[x]: 1\n@b[y]: 2\n'), /several maps/);
  assert.throws(() => importBpftrace('Attaching 1 probe...\n'), /no map entries/);
});
