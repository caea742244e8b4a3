import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BpfError } from '../src/index.js';
import { BpfObject } from '../src/object.js';
import { ROOT_SKIP, PKG_DIR, tmpDir, sleep } from './helpers.js';

test('build-bpf.sh is idempotent and fast when up to date', { timeout: 60000 }, () => {
  const script = path.join(PKG_DIR, 'build-bpf.sh');
  execFileSync('bash', [script], { stdio: 'pipe' });
  const objs = ['profile', 'offcputime', 'wakeuptime', 'offwaketime', 'biolatency'].map((t) => path.join(PKG_DIR, 'build', `${t}.bpf.o`));
  const mtimes = objs.map((o) => fs.statSync(o).mtimeMs);
  // an up-to-date build only checks timestamps (and hashes the BTF): it says so and rewrites nothing
  // (how fast that is belongs in bench/, not in a timed assertion)
  const out = execFileSync('bash', [script], { encoding: 'utf8' });
  assert.match(out, /up to date/);
  assert.deepEqual(
    objs.map((o) => fs.statSync(o).mtimeMs),
    mtimes,
    'nothing rebuilt',
  );
});

test('raw_tp fallback programs load, attach and count events', { skip: ROOT_SKIP, timeout: 60000 }, async () => {
  for (const tool of ['offcputime', 'wakeuptime', 'offwaketime', 'biolatency', 'runqlat']) {
    const o = BpfObject.load(tool, { mode: 'raw_tp' });
    try {
      assert.equal(o.mode, 'raw_tp');
      o.attachAll();
      const stats = o.map('stats');
      if (tool !== 'biolatency') {
        // sched_switch fires constantly; the events counter is the first of the stats. Poll rather
        // than sleep a fixed time: on a busy machine the first events may take a moment
        const { StatsReader } = await import('../src/maps.js');
        const reader = new StatsReader(stats); // read() returns the counts since the last read
        const deadline = Date.now() + 10000;
        let events = 0;
        while (events === 0 && Date.now() < deadline) {
          await sleep(20);
          events += reader.read()[0];
        }
        assert.ok(events > 0, `${tool} raw_tp programs ran`);
      }
    } finally {
      o.destroy();
    }
  }
});

// A program the verifier must reject: it dereferences a map value without the NULL check.
const BAD = `
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8); __type(key, __u32); __type(value, __u64); } m SEC(".maps");
SEC("tp_btf/sched_switch")
int bad_prog(void *ctx) { __u32 k = 0; __u64 *v = bpf_map_lookup_elem(&m, &k); return *v; }
char LICENSE[] SEC("license") = "GPL";
`;

test('a verifier rejection becomes a BpfError carrying the verifier log', { skip: ROOT_SKIP, timeout: 60000 }, () => {
  const dir = tmpDir();
  const src = path.join(dir, 'bad.bpf.c');
  const obj = path.join(dir, 'bad.bpf.o');
  fs.writeFileSync(src, BAD);
  execFileSync('clang', ['-O2', '-g', '-target', 'bpf', '-D__TARGET_ARCH_x86', `-I${path.join(PKG_DIR, 'build')}`, '-c', src, '-o', obj]);
  assert.throws(
    () => BpfObject.load('bad', { file: obj, mode: 'tp_btf' }),
    (e: unknown) => {
      assert.ok(e instanceof BpfError);
      assert.equal(e.code, 'EACCES');
      assert.match(e.message, /load BPF programs of bad/);
      assert.match(e.message, /verifier rejected/);
      assert.doesNotMatch(e.message, /needs root/, 'not mistaken for a privilege problem');
      assert.equal(e.isPermission, false);
      assert.ok(e.verifierLog, 'verifier log attached');
      assert.match(e.verifierLog!, /invalid mem access 'map_value_or_null'/);
      return true;
    },
  );
});

test('a missing object gives a clear error', { skip: ROOT_SKIP }, () => {
  assert.throws(
    () => BpfObject.load('nope', { file: '/nonexistent/nope.bpf.o' }),
    (e: unknown) => e instanceof BpfError && e.code === 'ENOENT' && /open BPF object/.test(e.message),
  );
});

test('HashDrainer: batch and one-by-one drains read every entry and leave the map empty', { skip: ROOT_SKIP, timeout: 60000 }, async () => {
  const { HashDrainer } = await import('../src/maps.js');
  const L = await import('../src/ffi/libbpf.js');
  const o = BpfObject.load('offcputime');
  try {
    const counts = o.map('counts');
    const key = Buffer.alloc(counts.keySize);
    const val = Buffer.alloc(8);
    const fill = (n: number) => {
      for (let i = 0; i < n; i++) {
        key.writeUInt32LE(i + 1, 0);
        val.writeBigUInt64LE(BigInt(i * 10), 0);
        assert.equal(L.bpf_map_update_elem(counts.fd, key, val, 0n), 0);
      }
    };
    for (const batch of [true, false]) {
      fill(3000);
      const d = new HashDrainer(counts, { batch });
      assert.equal(d.drain(), 3000, `batch=${batch}: all entries read`);
      const seen = new Set<number>();
      for (let i = 0; i < 3000; i++) {
        const pid = d.keys.readUInt32LE(i * counts.keySize);
        assert.equal(d.values.readBigUInt64LE(i * 8), BigInt((pid - 1) * 10), 'value matches its key');
        seen.add(pid);
      }
      assert.equal(seen.size, 3000);
      assert.equal(d.drain(), 0, `batch=${batch}: map empty after drain`);
    }
  } finally {
    o.destroy();
  }
});

/** offcputime's twin counts maps: which one the programs write to (counts_gen), and an entry put straight into one */
async function twinMaps(o: BpfObject) {
  const L = await import('../src/ffi/libbpf.js');
  const gen = Buffer.alloc(4);
  const readGen = (): number => {
    assert.equal(L.bpf_map_lookup_elem(o.map('counts_gen').fd, Buffer.alloc(4), gen), 0);
    return gen.readUInt32LE(0);
  };
  const put = (map: string, id: number): void => {
    const key = Buffer.alloc(o.map(map).keySize);
    key.writeUInt32LE(id, 0);
    const val = Buffer.alloc(8);
    val.writeBigUInt64LE(BigInt(id), 0);
    assert.equal(L.bpf_map_update_elem(o.map(map).fd, key, val, 0n), 0);
  };
  return { readGen, put };
}

test('drainerOf: each drain switches the programs to the other map (name_gen) and drains the one they left', { skip: ROOT_SKIP, timeout: 60000 }, async () => {
  const { drainerOf } = await import('../src/maps.js');
  const o = BpfObject.load('offcputime');
  try {
    const d = drainerOf(o, 'counts');
    const { readGen, put } = await twinMaps(o);
    assert.equal(readGen(), 0, 'programs start on counts');
    put('counts', 1);
    put('counts_alt', 2); // not drained yet: programs do not write there while the generation is 0
    assert.equal(d.drain(), 1);
    assert.equal(d.keys.readUInt32LE(0), 1);
    assert.equal(readGen(), 1, 'programs moved to counts_alt');
    assert.equal(d.drain(), 1, 'the second drain takes counts_alt');
    assert.equal(d.keys.readUInt32LE(0), 2);
    assert.equal(d.values.readBigUInt64LE(0), 2n);
    assert.equal(readGen(), 0);
    assert.equal(d.drain(), 0, 'both maps empty');
  } finally {
    o.destroy();
  }
});

test('drainerOf async: prepareAsync switches and waits off the event loop, the next drain only reads', { skip: ROOT_SKIP, timeout: 60000 }, async () => {
  const { drainerOf } = await import('../src/maps.js');
  const o = BpfObject.load('offcputime');
  try {
    const d = drainerOf(o, 'counts');
    const { readGen, put } = await twinMaps(o);
    put('counts', 1);
    put('counts_alt', 2);
    // the event loop turns while the grace period is waited for: a sync wait would resolve the
    // promise before any setImmediate callback ran
    let done = false;
    const p = d.prepareAsync().then(() => (done = true));
    assert.equal(readGen(), 1, 'switched at once');
    let turns = 0;
    while (!done) {
      await new Promise((r) => setImmediate(r));
      turns++;
    }
    await p;
    assert.ok(turns >= 2, `event loop turns during the wait: ${turns}`);
    assert.equal(readGen(), 1, 'prepareAsync switched once');
    await d.prepareAsync(); // already prepared: no second switch
    assert.equal(readGen(), 1);
    assert.equal(d.drain(), 1, 'the drain after prepareAsync reads the map the programs left');
    assert.equal(d.keys.readUInt32LE(0), 1);
    assert.equal(readGen(), 1, 'and does not switch again');
    assert.equal(await d.drainAsync(), 1, 'drainAsync takes counts_alt');
    assert.equal(d.keys.readUInt32LE(0), 2);
    assert.equal(readGen(), 0);
    // a sync drain during an in-flight prepareAsync reads the prepared map (waiting itself); the
    // async one then starts a new switch instead of reading without a wait
    put('counts_alt', 3);
    const q = d.prepareAsync();
    assert.equal(readGen(), 1);
    assert.equal(d.drain(), 0, 'counts was drained already');
    await q;
    assert.equal(readGen(), 1);
    assert.equal(d.drain(), 1, 'the next drain switches back and reads counts_alt');
    assert.equal(d.keys.readUInt32LE(0), 3);
    assert.equal(readGen(), 0);
  } finally {
    o.destroy();
  }
});

test('tool drainAsync: the event loop keeps running; close during a drain waits for its read; no drain after close', {
  skip: ROOT_SKIP,
  timeout: 60000,
}, async () => {
  const { openRunqlat } = await import('../src/index.js');
  const h = openRunqlat({});
  try {
    assert.ok(h.drainAsync, 'runqlat has drainAsync');
    // event loop turns (setImmediate) while draining: a sync drain blocks them all
    let turns = 0;
    let spinning = true;
    const spin = (async () => {
      while (spinning) {
        await new Promise((r) => setImmediate(r));
        turns++;
      }
    })();
    let sync = 0;
    let async = 0;
    try {
      for (let i = 0; i < 5; i++) {
        const t0 = turns;
        h.drain();
        sync += turns - t0;
        const t1 = turns;
        await h.drainAsync!();
        async += turns - t1;
      }
    } finally {
      spinning = false;
      await spin;
    }
    assert.equal(sync, 0, 'a sync drain blocks the event loop');
    assert.ok(async >= 5, `event loop turns during 5 async drains: ${async}`);
    const p = h.drainAsync!();
    h.close(); // deferred: the drain is between switch and read
    const d = await p;
    assert.equal(d.kind, 'histogram');
    await assert.rejects(h.drainAsync!(), /drain after close/);
  } finally {
    h.close();
  }
});

/*
 * Drains while the programs add: the counts must be exact. Draining the map the programs write to
 * (read + delete, even as BPF_MAP_LOOKUP_AND_DELETE_BATCH) lost additions that landed in an entry
 * after it was copied and before it was deleted: 27 and 143 of 400000 uprobe hits with ~3000 drains
 * on a loaded 2-CPU machine, no loss counter raised. Since the drain switches maps and waits for
 * running programs first, none is lost.
 */
for (const mode of ['drain', 'drainAsync'] as const)
  test(`funccount drained continuously (${mode}) while two threads call the probed function: every call counted`, {
    skip: ROOT_SKIP,
    timeout: 180000,
  }, async (t) => {
    const { openFunccount } = await import('../src/index.js');
    const { buildC, run, GATE } = await import('./helpers.js');
    const N = 300000;
    const bin = buildC(
      'drain_race',
      `
#include <pthread.h>
#include <unistd.h>
volatile unsigned long sink;
__attribute__((noipa)) void dr_target(void) { sink++; }
void *th(void *a) { for (int i = 0; i < ${N}; i++) dr_target(); return a; }
int main(void) { ${GATE} pthread_t a, b; pthread_create(&a, 0, th, 0); pthread_create(&b, 0, th, 0); pthread_join(a, 0); pthread_join(b, 0); return 0; }
`,
    );
    const w = run(bin);
    await w.ready;
    const h = openFunccount({ pattern: `${bin}:dr_target`, pid: [w.child.pid!] });
    try {
      let finished = false;
      w.done.then(
        () => (finished = true),
        () => (finished = true),
      );
      w.go();
      let total = 0;
      let drains = 0;
      const add = (d: ReturnType<typeof h.drain>) => {
        for (const c of d.counts) total += c.value;
      };
      const drain = () => (mode === 'drain' ? Promise.resolve(h.drain()) : h.drainAsync!());
      while (!finished) {
        add(await drain());
        drains++;
        await new Promise((r) => setImmediate(r));
      }
      assert.equal(await w.done, 0);
      add(await drain());
      t.diagnostic(`${total} of ${2 * N} calls counted over ${drains} drains during the run`);
      assert.ok(drains >= 5, `drains while the workload ran: ${drains}`);
      assert.equal(total, 2 * N);
    } finally {
      h.close();
      w.child.kill('SIGKILL');
    }
  });
