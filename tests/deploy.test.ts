/**
 * Static checks of the deployable pair (docker-compose.yml + docker/*.Dockerfile). There is no
 * Docker engine on the build machines, so this is what keeps the files honest: the compose file
 * parses and has the security properties the deployment relies on, every Dockerfile instruction is
 * a real one, every path they copy or run exists in the repository, and every BPFSCOPE_*
 * variable they set is one the code actually reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'));

/** All source text the services could read an environment variable from. */
function sourceText(): string {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (['node_modules', 'dist', '.next', 'test', 'build'].includes(name)) continue;
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (/\.(ts|tsx|js|mjs|cjs|sh)$/.test(name)) out.push(readFileSync(p, 'utf8'));
    }
  };
  for (const d of ['apps', 'packages', 'scripts']) walk(join(root, d));
  return out.join('\n');
}

test('compose: collector is privileged in the host PID namespace with BTF and debugfs read-only', () => {
  const c = compose.services.collector;
  assert.ok(c, 'collector service exists');
  assert.equal(c.privileged, true);
  assert.equal(c.pid, 'host');
  for (const cap of ['BPF', 'PERFMON', 'SYS_ADMIN']) assert.ok(c.cap_add.includes(cap), `cap_add has ${cap}`);
  assert.ok(c.volumes.includes('/sys/kernel/btf:/sys/kernel/btf:ro'));
  assert.ok(c.volumes.includes('/sys/kernel/debug:/sys/kernel/debug:ro'));
  assert.equal(c.ports, undefined, 'the collector is not published on the host network');
  assert.ok(c.secrets.includes('bpfscope_token'));
  assert.equal(c.environment.BPFSCOPE_TOKEN_FILE, '/run/secrets/bpfscope_token');
});

test('compose: web is unprivileged, keeps data in a volume, gets tokens as secrets, binds loopback', () => {
  const w = compose.services.web;
  assert.ok(w, 'web service exists');
  assert.notEqual(w.privileged, true);
  assert.equal(w.pid, undefined);
  assert.equal(w.cap_add, undefined);
  assert.equal(w.user, 'node');
  assert.ok(w.volumes.some((v: string) => v.endsWith(`:${w.environment.BPFSCOPE_DATA_DIR}`)), 'data dir is a volume');
  assert.ok(Object.keys(compose.volumes).includes(w.volumes[0].split(':')[0]), 'named volume declared');
  assert.deepEqual([...w.secrets].sort(), ['bpfscope_token', 'bpfscope_web_token']);
  assert.ok(w.ports.every((p: string) => p.startsWith('127.0.0.1:')), 'published on loopback only');
  assert.match(w.environment.BPFSCOPE_COLLECTOR_URL, /^ws:\/\/collector:9700$/);
  for (const v of Object.values(w.environment)) assert.doesNotMatch(String(v), /token=|Bearer/i, 'no secret inline');
  for (const name of Object.keys(compose.secrets)) assert.ok(compose.secrets[name].file, `${name} comes from a file`);
});

test('compose: every BPFSCOPE_* variable it sets is read by the code', () => {
  const src = sourceText();
  for (const svc of Object.values<any>(compose.services)) {
    for (const name of Object.keys(svc.environment ?? {})) {
      if (!name.startsWith('BPFSCOPE_')) continue;
      assert.ok(src.includes(name), `${name} is read somewhere in apps/, packages/ or scripts/`);
    }
  }
});

const INSTRUCTIONS = new Set(['FROM', 'RUN', 'CMD', 'LABEL', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL']);

function dockerInstructions(file: string): Array<{ op: string; args: string; line: number }> {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: Array<{ op: string; args: string; line: number }> = [];
  let cur = '';
  let start = 0;
  lines.forEach((raw, i) => {
    const l = raw.trim();
    if (!cur && (l === '' || l.startsWith('#'))) return;
    if (!cur) start = i + 1;
    cur += (cur ? ' ' : '') + l.replace(/\\$/, '');
    if (!l.endsWith('\\')) {
      const m = /^(\w+)\s+(.*)$/.exec(cur);
      assert.ok(m, `${file}:${start}: cannot parse "${cur}"`);
      out.push({ op: m[1].toUpperCase(), args: m[2], line: start });
      cur = '';
    }
  });
  assert.equal(cur, '', `${file}: dangling line continuation`);
  return out;
}

for (const svc of ['collector', 'web']) {
  test(`${svc} Dockerfile: valid instructions, existing sources, JSON CMD`, () => {
    const b = compose.services[svc].build;
    const file = join(root, b.context, b.dockerfile);
    assert.ok(existsSync(file), `${b.dockerfile} exists`);
    const ins = dockerInstructions(file);
    assert.equal(ins[0].op, 'FROM', 'starts with FROM');
    const stages = new Set<string>();
    for (const { op, args, line } of ins) {
      assert.ok(INSTRUCTIONS.has(op), `${b.dockerfile}:${line}: unknown instruction ${op}`);
      if (op === 'FROM') {
        const m = /\bAS\s+(\S+)/i.exec(args);
        if (m) stages.add(m[1]);
      }
      if (op === 'COPY' && !args.startsWith('--from=')) {
        const parts = args.split(/\s+/);
        for (const src of parts.slice(0, -1)) assert.ok(existsSync(join(root, b.context, src)), `${b.dockerfile}:${line}: COPY source ${src} exists`);
      }
      if (op === 'COPY' && args.startsWith('--from=')) {
        assert.ok(stages.has(args.slice(7).split(/\s+/)[0]), `${b.dockerfile}:${line}: stage exists`);
      }
      if (op === 'CMD' || op === 'ENTRYPOINT') {
        const argv = JSON.parse(args);
        assert.ok(Array.isArray(argv) && argv.every((a: unknown) => typeof a === 'string'), `${b.dockerfile}:${line}: exec form`);
        for (const path of argv.join(' ').match(/(?:packages|apps)\/[\w./-]+\.(?:sh|js)/g) ?? []) {
          assert.ok(existsSync(join(root, path)), `${b.dockerfile}:${line}: ${path} exists`);
        }
      }
    }
    assert.ok(ins.some((i) => i.op === 'CMD'), 'has a CMD');
    for (const ws of ['e2e', 'bench']) {
      assert.ok(existsSync(join(root, ws, 'package.json')), `${ws}/package.json exists (npm ci needs every workspace manifest)`);
    }
  });
}

test('.dockerignore keeps local state and build output out of the images', () => {
  const ignore = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n');
  for (const p of ['**/node_modules', 'data', 'secrets', '.git']) assert.ok(ignore.includes(p), `.dockerignore has ${p}`);
});
