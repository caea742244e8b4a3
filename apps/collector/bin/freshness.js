// Whether what bin/bpfscope.js runs is built from the sources in the tree: the compiled TypeScript of
// the collector and of every workspace package it imports (@bpfscope/bpf, @bpfscope/viz), and the
// BPF objects of @bpfscope/bpf against their C sources. Modification times only (a scan of a few
// hundred files, a few milliseconds), the same rule the build scripts use.
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** mtime (ms) of a file, or undefined when it does not exist. */
function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** The newest file under dir whose name passes keep: { file, mtime }, or undefined when there is none. */
function newestFile(dir, keep) {
  let best;
  let entries;
  try {
    entries = readdirSync(dir, { recursive: true, withFileTypes: true });
  } catch {
    return undefined;
  }
  for (const e of entries) {
    if (!e.isFile() || !keep(e.name)) continue;
    const file = join(e.parentPath ?? e.path, e.name);
    const t = mtime(file);
    if (t !== undefined && (!best || t > best.mtime)) best = { file, mtime: t };
  }
  return best;
}

/** The real directory of package `name` as Node finds it from dir (node_modules upwards), or undefined. */
function findPackage(name, dir) {
  for (let d = dir; ; d = dirname(d)) {
    const p = join(d, 'node_modules', name);
    if (existsSync(join(p, 'package.json'))) return realpathSync(p);
    if (dirname(d) === d) return undefined;
  }
}

/**
 * The workspace packages bin/bpfscope.js runs: the collector (pkgDir) and its @bpfscope/*
 * dependencies, found as Node finds them (the real directories behind node_modules' links). Found
 * by directory, not by resolving an entry point, so a package whose dist is missing is listed too.
 */
export function workspacePackages(pkgDir) {
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  const dirs = [pkgDir];
  for (const name of Object.keys(pkg.dependencies ?? {})) {
    if (!name.startsWith('@bpfscope/')) continue;
    const dir = findPackage(name, pkgDir);
    if (dir) dirs.push(dir);
  }
  return dirs;
}

/**
 * A TypeScript package's build against its sources: undefined when dist is current, else why not
 * (dist missing, or the newest source is newer than the last build). `tsc -b` rewrites a project's
 * build info whenever it builds it but leaves unchanged outputs alone, so the later of the build
 * info and the entry point says when it last built.
 */
export function staleTypeScript(dir, root = dir) {
  const entry = [join(dir, 'dist', 'index.js'), join(dir, 'dist', 'cli', 'main.js')].find((f) => existsSync(f));
  const name = relative(root, dir) || '.';
  if (!entry) return `${name}/dist is not built`;
  const builtAt = Math.max(mtime(entry) ?? 0, mtime(join(dir, 'tsconfig.tsbuildinfo')) ?? 0);
  const src = newestFile(join(dir, 'src'), (n) => n.endsWith('.ts'));
  if (src && src.mtime > builtAt) return `${relative(root, src.file)} is newer than ${name}/dist`;
  return undefined;
}

/**
 * The BPF objects of @bpfscope/bpf (build/<tool>.bpf.o) against their sources, by the rule of
 * build-bpf.sh: an object is stale when its src/c/<tool>.bpf.c, a shared src/c/*.h or build/vmlinux.h
 * is newer. A missing object is not stale: the package builds it when a tool first opens it (and
 * says what to install when it cannot). Returns the stale tools with the first reason, or undefined.
 */
export function staleBpfObjects(bpfDir, root = bpfDir) {
  const cDir = join(bpfDir, 'src', 'c');
  const buildDir = join(bpfDir, 'build');
  let names;
  try {
    names = readdirSync(cDir).sort();
  } catch {
    return undefined; // not a source tree of the package (nothing to compare with)
  }
  const shared = names.filter((n) => n.endsWith('.h')).map((n) => join(cDir, n));
  shared.push(join(buildDir, 'vmlinux.h'));
  let newestShared;
  for (const f of shared) {
    const t = mtime(f);
    if (t !== undefined && (!newestShared || t > newestShared.mtime)) newestShared = { file: f, mtime: t };
  }
  const stale = [];
  let why;
  for (const n of names) {
    if (!n.endsWith('.bpf.c')) continue;
    const tool = n.slice(0, -'.bpf.c'.length);
    const obj = join(buildDir, `${tool}.bpf.o`);
    const objAt = mtime(obj);
    const c = join(cDir, n);
    let reason;
    if (objAt === undefined) continue;
    if ((mtime(c) ?? 0) > objAt) reason = `${relative(root, c)} is newer than ${relative(root, obj)}`;
    else if (newestShared && newestShared.mtime > objAt) reason = `${relative(root, newestShared.file)} is newer than ${relative(root, obj)}`;
    if (!reason) continue;
    stale.push(tool);
    why ??= reason;
  }
  return stale.length ? { tools: stale, why } : undefined;
}
