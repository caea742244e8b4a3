/**
 * Run a TypeScript entry point of this repository as an unprivileged user (uid 65534, "nobody"),
 * wherever the checkout lives.
 *
 * User nobody usually cannot enter the checkout (a clone under /root, or in a mode-0700 mktemp
 * directory), so running `node --import tsx <checkout>/src/x.ts` as nobody dies before any of our
 * code runs ("Cannot find package 'tsx'"). Instead, the entry point and everything it imports are
 * bundled with esbuild (already installed: tsx depends on it) into one self-contained ESM file in a
 * fresh world-readable temporary directory. Native packages that cannot be bundled (koffi) are
 * copied next to it with only the files they load at run time. The bundle runs the same code as
 * the checkout: only the module loading differs.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const NOBODY = 65534;

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Packages kept out of the bundle (native addons); copied into the bundle's node_modules. */
const EXTERNAL = ['koffi'];

export interface Bundle {
  /** world-readable directory holding the bundle (and node_modules/ for the external packages) */
  dir: string;
  /** the bundled entry point (main.mjs) */
  file: string;
  /** remove the directory */
  dispose(): void;
}

/** Copy the koffi files its loader needs on this platform: index.js, package.json, the native build. */
function copyKoffi(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true, mode: 0o755 });
  for (const f of ['package.json', 'index.js', 'indirect.js']) {
    if (fs.existsSync(path.join(from, f))) fs.copyFileSync(path.join(from, f), path.join(to, f));
  }
  const triplet = `${process.platform}_${process.arch}`;
  const native = path.join(from, 'build/koffi', triplet);
  if (!fs.existsSync(native)) throw new Error(`koffi has no native build for ${triplet} under ${native}`);
  fs.cpSync(native, path.join(to, 'build/koffi', triplet), { recursive: true });
}

/** Make every directory 0755 and every file 0644 (0755 when it was executable) under dir. */
function openUp(dir: string): void {
  fs.chmodSync(dir, 0o755);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) openUp(p);
    else fs.chmodSync(p, fs.statSync(p).mode & 0o111 ? 0o755 : 0o644);
  }
}

/**
 * Bundle `entry` (a path relative to the repository root, or absolute) into a new world-readable
 * temporary directory. Resolution uses the `source` condition, as the tests do with tsx.
 */
export async function bundleForNobody(entry: string): Promise<Bundle> {
  const abs = path.isAbsolute(entry) ? entry : path.join(REPO, entry);
  // under /tmp (or $TMPDIR), which nobody can traverse; the directory itself is made 0755 below
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfscope-nobody-'));
  const file = path.join(dir, 'main.mjs');
  try {
    await build({
      entryPoints: [abs],
      outfile: file,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: `node${process.versions.node.split('.')[0]}`,
      conditions: ['source'],
      external: EXTERNAL,
      // CommonJS dependencies (pino, ws…) call require(): give the ESM bundle one
      banner: { js: "import { createRequire as __bpfscopeCreateRequire } from 'node:module'; const require = __bpfscopeCreateRequire(import.meta.url);" },
      logLevel: 'silent',
    });
    const req = createRequire(abs);
    for (const name of EXTERNAL) {
      let pkgDir: string;
      try {
        pkgDir = path.dirname(req.resolve(`${name}/package.json`));
      } catch {
        continue; // not a dependency of this entry point
      }
      if (name === 'koffi') copyKoffi(pkgDir, path.join(dir, 'node_modules', name));
      else fs.cpSync(pkgDir, path.join(dir, 'node_modules', name), { recursive: true });
    }
    openUp(dir);
    for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) {
      if ((fs.statSync(d).mode & 0o001) === 0) {
        throw new Error(`user nobody cannot enter ${d} (the temporary directory's parent): point TMPDIR at a world-traversable directory such as /tmp`);
      }
    }
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return { dir, file, dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export interface NobodyResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Run `node <bundle.file> ...args` as uid/gid 65534 with no supplementary groups and no inheritable
 * capabilities (setpriv), from the bundle's directory. Needs root. The node binary itself must be
 * readable by nobody (it is: /usr/bin/node, or an install under a world-readable prefix).
 */
export function runAsNobody(bundle: Bundle, args: string[], timeoutMs = 60000): Promise<NobodyResult> {
  // a node installed under a private directory (/root/.nvm…) cannot be run by nobody: say so
  for (let p = process.execPath; p !== path.dirname(p); p = path.dirname(p)) {
    if ((fs.statSync(p).mode & 0o001) === 0) {
      return Promise.reject(
        new Error(`user nobody cannot run ${process.execPath}: ${p} is not executable/traversable by others; use a node installed in a world-readable place`),
      );
    }
  }
  return new Promise((resolve, reject) => {
    const c = spawn('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--inh-caps=-all', process.execPath, bundle.file, ...args], {
      cwd: bundle.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: bundle.dir, LANG: 'C.UTF-8' },
    });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('error', reject);
    c.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
