/**
 * Symbolizer known-answer tests: small C/C++ programs built here (PIE executable, shared libraries,
 * stripped binary, separate debug file), run, and their printed function addresses symbolized
 * through /proc/PID/maps; kernel symbols against /proc/kallsyms; perf-PID.map files.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSymbolizer, ElfFile, Kallsyms, PerfMap, ProcMaps, readElfSymbols } from '../src/symbolize/index.js';

const FIX = fileURLToPath(new URL('./fixtures/symbolize/', import.meta.url));
const isRoot = process.getuid?.() === 0;

function hasTool(t: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const haveCc = hasTool('gcc') && hasTool('g++');

interface Running {
  child: ChildProcess;
  pid: number;
  addrs: Record<string, bigint>;
}

/** Start a built test program; resolves once it printed its function addresses. */
function startKnown(bin: string, argv: string[] = []): Promise<Running> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${bin} did not print "ready" within 10 s; output so far: ${out}`));
    }, 10_000);
    child.on('error', reject);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) {
        clearTimeout(timer);
        const addrs: Record<string, bigint> = {};
        for (const line of out.split('\n')) {
          const m = /^(\S+) (0x[0-9a-f]+|\(nil\))$/.exec(line);
          if (m && m[2] !== '(nil)') addrs[m[1]] = BigInt(m[2]);
        }
        resolve({ child, pid: child.pid!, addrs });
      }
    });
  });
}

function stop(r: Running | undefined): Promise<void> {
  if (!r || r.child.exitCode !== null || r.child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    r.child.once('exit', () => res());
    r.child.kill('SIGKILL');
  });
}

describe('symbolize: user space (ELF, /proc/PID/maps)', { skip: haveCc ? false : 'gcc/g++ not installed (apt-get install gcc g++)' }, () => {
  let dir: string;
  let known: Running | undefined;
  let stripped: Running | undefined;
  let debugOnly: Running | undefined;
  let linked: Running | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bpfscope-sym-'));
    const cc = (args: string[]) => execFileSync(args[0], args.slice(1), { cwd: dir, stdio: 'pipe' });
    cc(['gcc', '-O1', '-fPIC', '-shared', '-o', 'libknownlib.so', join(FIX, 'knownlib.c')]);
    cc(['g++', '-O1', '-fPIC', '-shared', '-o', 'libknowncpp.so', join(FIX, 'knowncpp.cc')]);
    const link = ['-L.', '-lknownlib', '-lknowncpp', `-Wl,-rpath,${dir}`, '-ldl'];
    cc(['gcc', '-O1', '-g', '-fPIE', '-pie', '-o', 'known', join(FIX, 'known.c'), ...link]);
    cc(['gcc', '-O1', '-o', 'jitmemfd', join(FIX, 'jitmemfd.c')]);
    // stripped: only .dynsym remains (-rdynamic exports the global functions)
    cc(['gcc', '-O1', '-fPIE', '-pie', '-rdynamic', '-o', 'known-stripped', join(FIX, 'known.c'), ...link]);
    cc(['strip', '--strip-all', 'known-stripped']);
    // separate debug file found by build-id; the binary itself has no .symtab
    cc(['gcc', '-O1', '-g', '-fPIE', '-pie', '-Wl,--build-id=sha1', '-o', 'known-dbg', join(FIX, 'known.c'), ...link]);
    const id = ElfFile.open(join(dir, 'known-dbg')).buildId;
    assert.ok(id, 'gcc -Wl,--build-id produced a build-id note');
    mkdirSync(join(dir, 'debug', '.build-id', id.slice(0, 2)), { recursive: true });
    cc(['objcopy', '--only-keep-debug', 'known-dbg', join('debug', '.build-id', id.slice(0, 2), `${id.slice(2)}.debug`)]);
    cc(['strip', '--strip-all', 'known-dbg']);
    // separate debug file found by .gnu_debuglink (no build-id): <dir>/.debug/known-linked.debug
    cc(['gcc', '-O1', '-g', '-fPIE', '-pie', '-Wl,--build-id=none', '-o', 'known-linked', join(FIX, 'known.c'), ...link]);
    mkdirSync(join(dir, '.debug'));
    cc(['objcopy', '--only-keep-debug', 'known-linked', join('.debug', 'known-linked.debug')]);
    cc(['strip', '--strip-all', 'known-linked']);
    cc(['objcopy', `--add-gnu-debuglink=${join('.debug', 'known-linked.debug')}`, 'known-linked']);
    known = await startKnown(join(dir, 'known'));
    stripped = await startKnown(join(dir, 'known-stripped'));
    debugOnly = await startKnown(join(dir, 'known-dbg'));
    linked = await startKnown(join(dir, 'known-linked'));
  });

  after(async () => {
    await Promise.all([stop(known), stop(stripped), stop(debugOnly), stop(linked)]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('names PIE executable functions with exact offsets', () => {
    const s = createSymbolizer();
    const a = known!.addrs;
    const frames = s.user(known!.pid, [a.bpfscope_alpha, a.bpfscope_beta + 3n, a.bpfscope_static_helper + 1n, a.main + 4n]);
    assert.deepEqual(
      frames.map((f) => [f.name, f.offset, f.kind]),
      [
        ['bpfscope_alpha', 0, 'user'],
        ['bpfscope_beta', 3, 'user'],
        ['bpfscope_static_helper', 1, 'user'],
        ['main', 4, 'user'],
      ],
    );
    assert.equal(frames[0].module, join(dir, 'known'));
  });

  it('names a return address just past its function (a call as the last instruction) by the call (va - 1)', () => {
    // a call to a noreturn function can be a function's last instruction: the return address pushed
    // by it is then outside the caller's symbol (in the padding after it); perf and llvm-symbolizer
    // name the caller, and so must we (a return address is never the leaf, index 0)
    const syms = execFileSync('nm', ['-S', '--defined-only', join(dir, 'known')], { encoding: 'utf8' })
      .split('\n')
      .map((l) => /^([0-9a-f]+) ([0-9a-f]+) [tT] (\S+)$/.exec(l))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => ({ start: BigInt(`0x${m[1]}`), size: BigInt(`0x${m[2]}`), name: m[3] }));
    const starts = new Set(syms.map((x) => x.start));
    const a = known!.addrs;
    // a function of the program (its address printed) followed by padding, not by another function
    const fn = syms.find((x) => a[x.name] !== undefined && x.size > 0n && !starts.has(x.start + x.size));
    assert.ok(fn, `a printed function with padding after it: ${JSON.stringify(syms.map((x) => x.name))}`);
    const past = a[fn.name] + fn.size;
    // symbol tables only (DWARF, when used, resolves va - 1 on its own)
    const s = createSymbolizer({ dwarf: false });
    const frames = s.user(known!.pid, [a.main, past]);
    assert.equal(frames[1].name, fn.name, `the return address past ${fn.name}: ${JSON.stringify(frames[1])}`);
    // the same address as the sampled pc (the leaf) is taken as it is: not inside that function
    const [leaf] = s.user(known!.pid, [past]);
    assert.notEqual(leaf.name, fn.name);
  });

  it('names shared library functions (-shared -fPIC) and demangles C++', () => {
    const s = createSymbolizer();
    const a = known!.addrs;
    const [g, c, f] = s.user(known!.pid, [a.known_lib_gamma + 2n, a.known_cpp_entry, a.cpp_frob + 1n]);
    assert.equal(g.name, 'known_lib_gamma');
    assert.equal(g.offset, 2);
    assert.equal(g.module, join(dir, 'libknownlib.so'));
    assert.equal(c.name, 'known_cpp_entry');
    assert.equal(f.name, 'bpfscope::Widget::frob(int)');
    assert.equal(f.offset, 1);
    const raw = createSymbolizer({ demangle: false }).user(known!.pid, [a.cpp_frob]);
    assert.equal(raw[0].name, '_ZN8bpfscope6Widget4frobEi');
  });

  it('bounds symbols by their size: past the end is never the previous name', () => {
    const s = createSymbolizer();
    const exe = join(dir, 'known');
    const syms = readElfSymbols(exe).filter((x) => x.type === 'func');
    const alpha = syms.find((x) => x.name === 'bpfscope_alpha')!;
    assert.ok(alpha.size > 0);
    const inside = s.user(known!.pid, [known!.addrs.bpfscope_alpha + BigInt(alpha.size - 1)])[0];
    assert.equal(inside.name, 'bpfscope_alpha');
    // the last function in .text is followed by padding or non-function code: find a gap
    const text = ElfFile.open(exe).sections.find((x) => x.name === '.text')!;
    const starts = new Set(syms.map((x) => x.addr));
    const gapSym = syms.find((x) => x.size > 0 && !starts.has(x.addr + x.size) && x.addr + x.size < text.addr + text.size);
    if (gapSym) {
      const bias = known!.addrs.bpfscope_alpha - BigInt(alpha.addr);
      const f = s.user(known!.pid, [bias + BigInt(gapSym.addr + gapSym.size)])[0];
      assert.notEqual(f.name, gapSym.name);
    }
    // the ELF header (first mapping, no symbol) → module+0xoff; outside every mapping → [unknown]
    const maps = ProcMaps.read(known!.pid);
    const first = maps.mappings.find((m) => m.path === exe && m.offset === 0)!;
    const hdr = s.user(known!.pid, [BigInt(first.start + 0x10)])[0];
    assert.equal(hdr.name, 'known+0x10');
    assert.equal(hdr.kind, 'unknown');
    assert.deepEqual(s.user(known!.pid, [0x1000n])[0], { name: '[unknown]', kind: 'unknown' });
  });

  it('rejects corrupt ELF files with a clear error, never hangs or crashes (fuzz)', () => {
    const orig = readFileSync(join(dir, 'known'));
    assert.throws(() => ElfFile.fromBuffer(Buffer.from('not an elf file at all, just text.........................................'), 'x'), /not an ELF file/);
    const shoff = Number(orig.readBigUInt64LE(40));
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let opened = 0;
    for (let k = 0; k < 300; k++) {
      const b = Buffer.from(orig);
      for (let e = 0; e < 1 + rnd(8); e++) {
        // mutate the ELF header, program headers or section headers
        const region = rnd(2) === 0 ? rnd(Math.min(1024, b.length)) : shoff + rnd(Math.max(1, b.length - shoff));
        if (region < b.length) b[region] = rnd(256);
      }
      try {
        const f = ElfFile.fromBuffer(b, 'mutated');
        const t = f.symbols();
        for (let i = 0; i < 50; i++) t.lookup(rnd(0x10000));
        opened++;
      } catch (e) {
        assert.ok(e instanceof Error && e.message.length > 0);
      }
    }
    assert.ok(opened > 0, 'some mutations still parse');
  });

  it('uses .dynsym of a stripped binary', () => {
    const s = createSymbolizer();
    const exe = join(dir, 'known-stripped');
    assert.equal(ElfFile.open(exe).hasSymtab, false);
    const a = stripped!.addrs;
    const [al, be] = s.user(stripped!.pid, [a.bpfscope_alpha + 1n, a.bpfscope_beta]);
    assert.deepEqual([al.name, al.offset], ['bpfscope_alpha', 1]);
    assert.equal(be.name, 'bpfscope_beta');
    // a static function is not in .dynsym: it must not get a wrong name. Its entry address is a pc
    // (a leaf), never a return address: as a return address it would be looked up at va - 1, in
    // the function before it
    const [st] = s.user(stripped!.pid, [a.bpfscope_static_helper]);
    assert.ok(st.name === '[unknown]' || st.name.startsWith('known-stripped+0x') || st.name === 'bpfscope_static_helper', st.name);
    assert.notEqual(st.name, 'bpfscope_beta');
    assert.notEqual(st.name, 'bpfscope_alpha');
  });

  it('finds a separate debug file by build-id', () => {
    const a = debugOnly!.addrs;
    const without = createSymbolizer({ debugDirs: [] }).user(debugOnly!.pid, [a.bpfscope_static_helper])[0];
    assert.notEqual(without.name, 'bpfscope_static_helper');
    const s = createSymbolizer({ debugDirs: [join(dir, 'debug')] });
    const [h, al] = s.user(debugOnly!.pid, [a.bpfscope_static_helper + 2n, a.bpfscope_alpha]);
    assert.deepEqual([h.name, h.offset], ['bpfscope_static_helper', 2]);
    assert.equal(al.name, 'bpfscope_alpha');
  });

  it('finds a separate debug file by .gnu_debuglink', () => {
    const elf = ElfFile.open(join(dir, 'known-linked'));
    assert.equal(elf.buildId, undefined);
    assert.equal(elf.debugLink?.file, 'known-linked.debug');
    assert.equal(elf.hasSymtab, false);
    const a = linked!.addrs;
    const [h] = createSymbolizer({ debugDirs: [] }).user(linked!.pid, [a.bpfscope_static_helper + 1n]);
    assert.deepEqual([h.name, h.offset], ['bpfscope_static_helper', 1]);
  });

  it('names vDSO functions from /proc/PID/mem', { skip: isRoot ? false : 'reading /proc/PID/mem of another process needs root' }, () => {
    const addr = known!.addrs.__vdso_clock_gettime;
    assert.ok(addr, 'dlsym found __vdso_clock_gettime');
    const f = createSymbolizer().user(known!.pid, [addr + 4n])[0];
    assert.equal(f.name, '__vdso_clock_gettime');
    assert.equal(f.offset, 4);
    assert.equal(f.module, '[vdso]');
  });

  it('keeps names of a process that exited after notePid; prune() forgets it', async () => {
    const r = await startKnown(join(dir, 'known'));
    const s = createSymbolizer();
    s.notePid(r.pid);
    await stop(r);
    assert.equal(existsSync(`/proc/${r.pid}`), false);
    const [f, l] = s.user(r.pid, [r.addrs.bpfscope_beta + 1n, r.addrs.known_lib_gamma]);
    assert.deepEqual([f.name, f.offset], ['bpfscope_beta', 1]);
    assert.equal(l.name, 'known_lib_gamma');
    s.prune();
    assert.equal(s.stats().pids, 0);
    assert.equal(s.user(r.pid, [r.addrs.bpfscope_beta])[0].name, '[unknown]');
  });

  it('notices an exec (same pid, new address space) and reads the maps again', async () => {
    // without ASLR both programs load at the same base: stale maps would name the new addresses
    // from the old file, so only a real exec check passes
    const noAslr = hasTool('setarch');
    const r = noAslr
      ? await startKnown('setarch', [execFileSync('uname', ['-m']).toString().trim(), '-R', join(dir, 'known'), join(dir, 'known-stripped')])
      : await startKnown(join(dir, 'known'), [join(dir, 'known-stripped')]);
    try {
      const s = createSymbolizer();
      assert.equal(s.user(r.pid, [r.addrs.bpfscope_alpha])[0].name, 'bpfscope_alpha');
      const again = new Promise<Record<string, bigint>>((res, rej) => {
        let out = '';
        const timer = setTimeout(() => rej(new Error('the program run by exec did not print ready')), 10_000);
        r.child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('ready\n')) {
            clearTimeout(timer);
            const a: Record<string, bigint> = {};
            for (const m of out.matchAll(/^(\S+) (0x[0-9a-f]+)$/gm)) a[m[1]] = BigInt(m[2]);
            res(a);
          }
        });
      });
      r.child.stdin!.write('x\n');
      const b = await again;
      if (noAslr) assert.equal(b.main, r.addrs.main, 'same layout without ASLR');
      assert.match(readFileSync(`/proc/${r.pid}/maps`, 'utf8'), /known-stripped/);
      await new Promise((res) => setTimeout(res, 1100)); // the exec check runs at most once a second
      const [f] = s.user(r.pid, [b.bpfscope_beta + 2n]);
      assert.deepEqual([f.name, f.offset, f.module], ['bpfscope_beta', 2, join(dir, 'known-stripped')]);
    } finally {
      await stop(r);
    }
  });

  it('names JIT code in a memfd (file-backed, not ELF) mapping from the perf map', async () => {
    const r = await startKnown(join(dir, 'jitmemfd'));
    try {
      const maps = ProcMaps.read(r.pid);
      const m = maps.find(Number(r.addrs.jit));
      assert.ok(m?.path.startsWith('/memfd:'), `mapping is ${m?.path}`);
      const [f] = createSymbolizer().user(r.pid, [r.addrs.jit + 0x10n]);
      assert.deepEqual([f.name, f.kind, f.offset], ['jit_in_memfd', 'jit', 0x10]);
    } finally {
      await stop(r);
      rmSync(`/tmp/perf-${r.pid}.map`, { force: true });
    }
  });

  it('shares parsed ELF files across processes; warm lookups are stable', () => {
    const s = createSymbolizer();
    const a = known!.addrs;
    const stack = [a.bpfscope_alpha, a.bpfscope_beta, a.main, a.known_lib_gamma, a.cpp_frob];
    const addrs: bigint[] = [];
    for (let i = 0; i < 6; i++) addrs.push(...stack);
    s.user(known!.pid, addrs);
    const before = s.stats().elfFiles;
    // the other processes share libc, ld.so, libknownlib.so and libknowncpp.so with the first: only
    // their own executables are new files (maps are read with every executable mapping opened)
    assert.equal(s.user(stripped!.pid, [stripped!.addrs.known_lib_gamma])[0].name, 'known_lib_gamma');
    assert.equal(s.user(debugOnly!.pid, [debugOnly!.addrs.known_lib_gamma])[0].name, 'known_lib_gamma');
    assert.equal(s.stats().elfFiles, before + 2);
    // warm lookups give the same answers (speed is measured in bench/symbolize, not here)
    const first = s.user(known!.pid, addrs).map((f) => `${f.name}+${f.offset}`);
    for (let i = 0; i < 200; i++)
      assert.deepEqual(
        s.user(known!.pid, addrs).map((f) => `${f.name}+${f.offset}`),
        first,
      );
    assert.deepEqual(first.slice(0, 5), ['bpfscope_alpha+0', 'bpfscope_beta+0', 'main+0', 'known_lib_gamma+0', 'bpfscope::Widget::frob(int)+0']);
  });
});

describe('symbolize: kernel (/proc/kallsyms)', () => {
  it('names vfs_read+5 from the live kallsyms', { skip: isRoot ? false : 'kallsyms addresses are hidden unless root' }, () => {
    const k = Kallsyms.load();
    const addr = k.addressOf('vfs_read');
    assert.ok(addr && addr > 2n ** 53n, 'vfs_read address is a 64-bit kernel address');
    const s = createSymbolizer();
    const [f] = s.kernel([addr + 5n]);
    assert.deepEqual(f, { name: 'vfs_read', kind: 'kernel', module: 'vmlinux', offset: 5 });
    const [g] = createSymbolizer({ annotateKernel: true }).kernel([addr]);
    assert.equal(g.name, 'vfs_read_[k]');
    // the line of kallsyms agrees
    const line = readFileSync('/proc/kallsyms', 'latin1')
      .split('\n')
      .find((l) => l.endsWith(' vfs_read'))!;
    assert.equal(BigInt('0x' + line.split(' ')[0]), addr);
  });

  it('parses module symbols, bounds gaps, skips data symbols', () => {
    const text = [
      'ffffffff81000000 T _stext',
      'ffffffff81000000 T _text',
      'ffffffff81000100 T do_thing',
      'ffffffff81000200 t local_helper',
      'ffffffff81000300 D some_data',
      'ffffffff81000400 T _etext',
      'ffffffffc0a00000 t ext4_fill_super\t[ext4]',
      'ffffffffc0a00800 T ext4_read\t[ext4]',
      'ffffffffc0b00000 t xfs_ioctl\t[xfs]',
      '0000000000000000 A hidden_zero',
    ].join('\n');
    const dir = mkdtempSync(join(tmpdir(), 'bpfscope-ksym-'));
    try {
      const path = join(dir, 'kallsyms');
      writeFileSync(path, text);
      const s = createSymbolizer({ kallsymsPath: path });
      const f = s.kernel([
        0xffffffff81000105n,
        0xffffffff810002ffn,
        0xffffffff81000310n,
        0xffffffffc0a00810n,
        0xffffffffc0a00010n,
        0xffffffffc0b00001n,
        0xffffffffc0c00000n,
        0x1000n,
      ]);
      assert.deepEqual(f[0], { name: 'do_thing', kind: 'kernel', module: 'vmlinux', offset: 5 });
      assert.deepEqual([f[1].name, f[1].offset], ['local_helper', 0xff]);
      assert.equal(f[2].name, '[unknown]', 'a data symbol never names a code address');
      assert.deepEqual(f[3], { name: 'ext4_read', kind: 'kernel', module: 'ext4', offset: 0x10 });
      assert.deepEqual([f[4].name, f[4].module], ['ext4_fill_super', 'ext4']);
      assert.deepEqual([f[5].name, f[5].module], ['xfs_ioctl', 'xfs']);
      assert.equal(f[6].name, '[unknown]', '1 MiB past the last module symbol');
      assert.equal(f[7].name, '[unknown]');
      const k = Kallsyms.parse(text);
      assert.equal(k.size, 8, 'aliases at one address collapse; zero addresses skipped');
      assert.equal(k.lookup(0xffffffff81000000n)!.name, '_stext');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('re-reads kallsyms on a miss when a module or BPF program appeared', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bpfscope-ksym-'));
    try {
      const path = join(dir, 'kallsyms');
      writeFileSync(path, 'ffffffff81000100 T do_thing\nffffffff81000200 T _etext\n');
      const s = createSymbolizer({ kallsymsPath: path, kallsymsReloadMs: 1 });
      const prog = 0xffffffffc0300040n;
      assert.equal(s.kernel([prog])[0].name, '[unknown]');
      writeFileSync(path, 'ffffffff81000100 T do_thing\nffffffff81000200 T _etext\nffffffffc0300000 t bpf_prog_6deef7357e7b4530_handle_exec\t[bpf]\n');
      await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(s.kernel([prog])[0], { name: 'bpf_prog_6deef7357e7b4530_handle_exec', kind: 'kernel', module: 'bpf', offset: 0x40 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('explains hidden kallsyms', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bpfscope-ksym-'));
    try {
      const path = join(dir, 'kallsyms');
      writeFileSync(path, '0000000000000000 T vfs_read\n0000000000000000 T vfs_write\n');
      assert.throws(() => Kallsyms.load(path), /kptr_restrict|root/);
      const s = createSymbolizer({ kallsymsPath: path });
      assert.equal(s.kernel([0xffffffff81000000n])[0].name, '[unknown]');
      assert.match(String(s.kernelError()), /kptr_restrict/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('symbolize: JIT perf-PID.map', () => {
  it('reads a synthetic perf map, latest entry wins, re-reads when it grows', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bpfscope-perfmap-'));
    try {
      const pid = 4194000 + Math.floor(Math.random() * 300); // above pid_max default: no such process
      const path = join(dir, `perf-${pid}.map`);
      writeFileSync(path, '7f0000001000 100 LazyCompile:*hot /app/x.js:1:1\n0x7f0000002000 0x40 Builtin:ArgumentsAdaptorTrampoline\n');
      const s = createSymbolizer({ perfMapDir: dir });
      const f = s.user(pid, [0x7f0000001010n, 0x7f0000002000n, 0x7f0000003000n]);
      assert.deepEqual(f[0], { name: 'LazyCompile:*hot /app/x.js:1:1', kind: 'jit', module: path, offset: 0x10 });
      assert.equal(f[1].name, 'Builtin:ArgumentsAdaptorTrampoline');
      assert.equal(f[2].name, '[unknown]');
      appendFileSync(path, '7f0000003000 20 JS:*later /app/y.js:2:3\n7f0000001000 80 JS:*recompiled /app/x.js:1:1\n');
      const pm = new PerfMap(path);
      pm.refresh();
      assert.equal(pm.lookup(0x7f0000001010)!.name, 'JS:*recompiled /app/x.js:1:1');
      assert.equal(pm.lookup(0x7f00000010a0)!.name, 'LazyCompile:*hot /app/x.js:1:1');
      assert.equal(pm.size, 4);
      const t = PerfMap.fromText('10 10 a\n18 10 b');
      assert.equal(t.lookup(0x19)!.name, 'b');
      assert.equal(t.lookup(0x15)!.name, 'a');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names JS functions of a live node --perf-basic-prof process', async () => {
    const script = `function bpfscopeHotLoop(n){let s=0;for(let i=0;i<n;i++)s+=Math.sqrt(i)*i%7;return s}
      let t=Date.now();while(Date.now()-t<300)bpfscopeHotLoop(1e4);
      console.log('ready');process.stdin.resume();process.stdin.on('end',()=>process.exit(0));`;
    const child = spawn(process.execPath, ['--perf-basic-prof', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    const mapPath = `/tmp/perf-${child.pid}.map`;
    try {
      await new Promise<void>((res, rej) => {
        const timer = setTimeout(() => rej(new Error('node did not start within 15 s')), 15_000);
        child.stdout!.on('data', (d: Buffer) => {
          if (d.toString().includes('ready')) {
            clearTimeout(timer);
            res();
          }
        });
      });
      const line = readFileSync(mapPath, 'utf8')
        .split('\n')
        .find((l) => l.includes('bpfscopeHotLoop'));
      assert.ok(line, `perf map ${mapPath} names bpfscopeHotLoop`);
      const [start] = line.split(' ');
      const addr = BigInt('0x' + start.replace(/^0x/, '')) + 1n;
      const s = createSymbolizer();
      s.notePid(child.pid!);
      const [f] = s.user(child.pid!, [addr]);
      assert.equal(f.kind, 'jit');
      assert.match(f.name, /bpfscopeHotLoop/);
      assert.equal(f.offset, 1);
      // node's own native code is named from its ELF symbols in the same process
      const exe = ProcMaps.read(child.pid!).mappings.find((m) => m.exec && m.path === process.execPath);
      assert.ok(exe);
    } finally {
      child.kill('SIGKILL');
      rmSync(mapPath, { force: true });
    }
  });

  it('finds the perf map of a process in its own PID namespace (perf-<nspid>.map)', {
    skip: isRoot && hasTool('unshare') ? false : 'needs root and unshare(1) to create a PID namespace',
  }, async () => {
    // inside the namespace node is pid 1 and writes /tmp/perf-1.map; the host pid differs
    const script = `function bpfscopeNsLoop(n){let s=0;for(let i=0;i<n;i++)s+=i%3;return s}
      let t=Date.now();while(Date.now()-t<300)bpfscopeNsLoop(1e4);console.log('ready');setInterval(()=>{},1000);`;
    const outer = spawn('unshare', ['--pid', '--fork', '--kill-child', process.execPath, '--perf-basic-prof', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const inner = '/tmp/perf-1.map';
    try {
      await new Promise<void>((res, rej) => {
        const timer = setTimeout(() => rej(new Error('namespaced node did not start within 15 s')), 15_000);
        outer.stdout!.on('data', (d: Buffer) => {
          if (d.toString().includes('ready')) {
            clearTimeout(timer);
            res();
          }
        });
      });
      const kids = readFileSync(`/proc/${outer.pid}/task/${outer.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
      const hostPid = kids[0];
      assert.ok(hostPid > 1, 'unshare forked node');
      assert.match(readFileSync(`/proc/${hostPid}/status`, 'utf8'), /^NSpid:\s+\d+\s+1$/m);
      const line = readFileSync(inner, 'utf8')
        .split('\n')
        .find((l) => l.includes('bpfscopeNsLoop'));
      assert.ok(line, 'the namespaced node wrote perf-1.map');
      assert.equal(existsSync(`/tmp/perf-${hostPid}.map`), false);
      const addr = BigInt('0x' + line.split(' ')[0].replace(/^0x/, '')) + 2n;
      const [f] = createSymbolizer().user(hostPid, [addr]);
      assert.equal(f.kind, 'jit');
      assert.match(f.name, /bpfscopeNsLoop/);
      assert.equal(f.module, `/proc/${hostPid}/root/tmp/perf-1.map`);
    } finally {
      outer.kill('SIGKILL');
      rmSync(inner, { force: true });
    }
  });
});
