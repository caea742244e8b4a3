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
  assert.ok(
    w.volumes.some((v: string) => v.endsWith(`:${w.environment.BPFSCOPE_DATA_DIR}`)),
    'data dir is a volume',
  );
  assert.ok(Object.keys(compose.volumes).includes(w.volumes[0].split(':')[0]), 'named volume declared');
  assert.deepEqual([...w.secrets].sort(), ['bpfscope_token', 'bpfscope_view_token', 'bpfscope_web_token']);
  assert.ok(
    w.ports.every((p: string) => p.startsWith('127.0.0.1:')),
    'published on loopback only',
  );
  assert.match(w.environment.BPFSCOPE_COLLECTOR_URL, /^ws:\/\/collector:9700$/);
  for (const v of Object.values(w.environment)) assert.doesNotMatch(String(v), /token=|Bearer/i, 'no secret inline');
  for (const name of Object.keys(compose.secrets)) assert.ok(compose.secrets[name].file, `${name} comes from a file`);
});

test('compose: the optional PostgreSQL service runs only with its profile; the web uses it only when BPFSCOPE_DATABASE_URL is set', () => {
  const pg = compose.services.postgres;
  assert.deepEqual(pg.profiles, ['postgres'], 'not started by a plain `docker compose up`');
  assert.equal(pg.ports, undefined, 'not published on the host');
  assert.equal(pg.environment.POSTGRES_PASSWORD, undefined, 'no password inline');
  assert.equal(pg.environment.POSTGRES_PASSWORD_FILE, '/run/secrets/bpfscope_db_password');
  assert.ok(pg.secrets.includes('bpfscope_db_password'));
  assert.ok(pg.volumes.some((v: string) => v.endsWith(':/var/lib/postgresql/data') && Object.keys(compose.volumes).includes(v.split(':')[0])));
  const w = compose.services.web;
  assert.equal(w.environment.BPFSCOPE_DATABASE_URL, '${BPFSCOPE_DATABASE_URL:-}', 'empty by default: SQLite');
  assert.equal(w.secrets.includes('bpfscope_db_password'), false, 'the web needs no database secret file when SQLite is used');
  // the web image exports the viewer token from its optional secret
  const cmd = readFileSync(join(root, 'docker/web.Dockerfile'), 'utf8');
  assert.match(cmd, /BPFSCOPE_VIEW_TOKEN=\\"\$\(cat \/run\/secrets\/bpfscope_view_token 2>\/dev\/null\)/);
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

const INSTRUCTIONS = new Set([
  'FROM',
  'RUN',
  'CMD',
  'LABEL',
  'EXPOSE',
  'ENV',
  'ADD',
  'COPY',
  'ENTRYPOINT',
  'VOLUME',
  'USER',
  'WORKDIR',
  'ARG',
  'ONBUILD',
  'STOPSIGNAL',
  'HEALTHCHECK',
  'SHELL',
]);

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
    assert.ok(
      ins.some((i) => i.op === 'CMD'),
      'has a CMD',
    );
    for (const ws of ['e2e', 'bench']) {
      assert.ok(existsSync(join(root, ws, 'package.json')), `${ws}/package.json exists (npm ci needs every workspace manifest)`);
    }
  });
}

test('.dockerignore keeps local state and build output out of the images', () => {
  const ignore = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n');
  for (const p of ['**/node_modules', 'data', 'secrets', '.git']) assert.ok(ignore.includes(p), `.dockerignore has ${p}`);
});

// ---------------------------------------------------------------- Kubernetes (deploy/kubernetes)

import { parseAllDocuments } from 'yaml';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as k8sCore from 'kubernetes-models/v1';
import * as k8sApps from 'kubernetes-models/apps/v1';
import * as k8sRbac from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as k8sNet from 'kubernetes-models/networking.k8s.io/v1';

const k8sDir = join(root, 'deploy/kubernetes');
const kustomization = parse(readFileSync(join(k8sDir, 'kustomization.yaml'), 'utf8'));
const MODELS: Record<string, Record<string, unknown>> = {
  v1: k8sCore,
  'apps/v1': k8sApps,
  'rbac.authorization.k8s.io/v1': k8sRbac,
  'networking.k8s.io/v1': k8sNet,
};

/** Every object of every resource the kustomization lists, with the file it came from. */
function k8sObjects(): { file: string; obj: any }[] {
  const out: { file: string; obj: any }[] = [];
  for (const f of kustomization.resources as string[]) {
    const docs = parseAllDocuments(readFileSync(join(k8sDir, f), 'utf8'));
    for (const d of docs) {
      assert.equal(d.errors.length, 0, `${f}: ${d.errors.map((e) => e.message).join('; ')}`);
      const obj = d.toJS();
      if (obj) out.push({ file: f, obj });
    }
  }
  return out;
}
const find = (kind: string, name: string) => k8sObjects().find((o) => o.obj.kind === kind && o.obj.metadata.name === name)?.obj;

test('kubernetes: the kustomization lists files that exist and parse; generator files and images are in place', () => {
  assert.equal(kustomization.kind, 'Kustomization');
  assert.equal(kustomization.namespace, 'bpfscope');
  for (const f of kustomization.resources) assert.ok(existsSync(join(k8sDir, f)), `resource ${f} exists`);
  for (const g of kustomization.configMapGenerator) for (const f of g.files) assert.ok(existsSync(join(k8sDir, f)), `configMapGenerator file ${f} exists`);
  const images = new Set(kustomization.images.map((i: any) => i.name));
  for (const { file, obj } of k8sObjects()) {
    const pod = obj.spec?.template?.spec;
    for (const c of [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])])
      assert.ok(images.has(c.image), `${file}: image ${c.image} is set by the kustomization's images`);
  }
  // no stray manifest outside the kustomization
  for (const f of readdirSync(k8sDir)) if (f.endsWith('.yaml') && f !== 'kustomization.yaml') assert.ok(kustomization.resources.includes(f), `${f} is listed`);
});

test('kubernetes: every object validates against the Kubernetes schemas (kubernetes-models)', () => {
  const objs = k8sObjects();
  assert.ok(objs.length >= 9);
  for (const { file, obj } of objs) {
    const Model = MODELS[obj.apiVersion]?.[obj.kind] as (new (d: unknown) => { validate(): void }) | undefined;
    assert.ok(Model, `${file}: ${obj.apiVersion} ${obj.kind} has a schema`);
    assert.doesNotThrow(() => new Model(obj).validate(), `${file}: ${obj.kind} ${obj.metadata?.name}`);
  }
  // the check bites: a wrong type or a missing required field is refused (kubernetes-models does
  // not refuse unknown fields; the tests below read the fields that matter by name)
  const ds = structuredClone(find('DaemonSet', 'bpfscope-collector'));
  ds.spec.template.spec.hostPID = 'yes';
  assert.throws(() => new k8sApps.DaemonSet(ds).validate());
  const ds2 = structuredClone(find('DaemonSet', 'bpfscope-collector'));
  delete ds2.spec.template.spec.containers[0].name;
  assert.throws(() => new k8sApps.DaemonSet(ds2).validate());
  const svc = structuredClone(find('Service', 'bpfscope-join'));
  svc.spec.ports[0].port = 'ninety';
  assert.throws(() => new k8sCore.Service(svc).validate());
});

test('kubernetes: collector DaemonSet — host PID, BPF capabilities, BTF and tracefs, joins the hub with the token from a Secret, node name and labels', () => {
  const ds = find('DaemonSet', 'bpfscope-collector');
  const pod = ds.spec.template.spec;
  assert.equal(pod.hostPID, true);
  assert.notEqual(pod.hostNetwork, true, 'dials out; needs no host network');
  const c = pod.containers.find((x: any) => x.name === 'collector');
  for (const cap of ['BPF', 'PERFMON', 'SYS_ADMIN']) assert.ok(c.securityContext.capabilities.add.includes(cap), cap);
  assert.notEqual(c.securityContext.privileged, true);
  assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
  const mounts = Object.fromEntries(c.volumeMounts.map((m: any) => [m.mountPath, m]));
  const vols = Object.fromEntries(pod.volumes.map((v: any) => [v.name, v]));
  for (const p of ['/sys/kernel/btf', '/sys/kernel/tracing']) {
    assert.ok(mounts[p]?.readOnly, `${p} mounted read-only`);
    assert.equal(vols[mounts[p].name].hostPath.path, p);
  }
  const env = Object.fromEntries(c.env.map((e: any) => [e.name, e]));
  assert.equal(env.BPFSCOPE_COLLECTOR_NAME.valueFrom.fieldRef.fieldPath, 'spec.nodeName');
  assert.equal(env.BPFSCOPE_COLLECTOR_HOST.value, '127.0.0.1', 'the local listener is not exposed');
  // the hub URL names the join Service and its port
  const hub = new URL(env.BPFSCOPE_HUB_URL.value);
  const join = find('Service', hub.hostname);
  assert.ok(join, `Service ${hub.hostname} exists`);
  assert.ok(join.spec.ports.some((p: any) => String(p.port) === hub.port));
  // the join token comes from a Secret, mounted as the file the collector reads
  const tokenFile = env.BPFSCOPE_JOIN_TOKEN_FILE.value;
  const tokenMount = c.volumeMounts.find((m: any) => tokenFile.startsWith(m.mountPath + '/'));
  assert.equal(vols[tokenMount.name].secret.secretName, 'bpfscope-tokens');
  assert.ok(vols[tokenMount.name].secret.items.some((i: any) => `${tokenMount.mountPath}/${i.path}` === tokenFile));
  // node labels: the init container writes them, the collector exports them as BPFSCOPE_COLLECTOR_LABELS
  const init = pod.initContainers.find((x: any) => x.name === 'node-labels');
  assert.equal(init.env.find((e: any) => e.name === 'NODE_NAME').valueFrom.fieldRef.fieldPath, 'spec.nodeName');
  assert.match(c.command.join(' '), /BPFSCOPE_COLLECTOR_LABELS="\$\(cat \/run\/bpfscope\/labels\)"/);
  assert.ok(init.command.includes('/run/bpfscope/labels'));
  const rules = find('ClusterRole', 'bpfscope-node-reader').rules;
  assert.deepEqual(rules, [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }], 'the collector account may only read nodes');
});

test('kubernetes: console Deployment with 2 replicas behind a Service, hub with the join port, PostgreSQL from a Secret, tokens from a Secret', () => {
  const console_ = find('Deployment', 'bpfscope-console');
  const hub = find('Deployment', 'bpfscope-hub');
  assert.equal(console_.spec.replicas, 2);
  assert.equal(hub.spec.replicas, 1);
  for (const d of [console_, hub]) {
    const c = d.spec.template.spec.containers[0];
    const env = Object.fromEntries(c.env.map((e: any) => [e.name, e]));
    assert.deepEqual(env.BPFSCOPE_DATABASE_URL.valueFrom.secretKeyRef, { name: 'bpfscope-database', key: 'url' });
    for (const k of ['BPFSCOPE_WEB_TOKEN', 'BPFSCOPE_VIEW_TOKEN']) assert.equal(env[k].valueFrom.secretKeyRef.name, 'bpfscope-tokens', k);
    if (d === hub) {
      assert.equal(env.BPFSCOPE_JOIN_TOKEN.valueFrom.secretKeyRef.name, 'bpfscope-tokens');
      assert.equal(env.BPFSCOPE_JOIN_PORT.value, '9701');
    } else assert.equal(env.BPFSCOPE_JOIN_PORT.value, '0', 'the console replicas take no joins');
    assert.equal(env.BPFSCOPE_COLLECTOR_URL.value, 'none');
    assert.equal(d.spec.template.spec.securityContext.runAsNonRoot, true);
    for (const v of Object.values<any>(env)) assert.ok(!String(v.value ?? '').startsWith('postgres'), 'no database URL inline');
  }
  // each Service selects the pods of a Deployment and targets a named port they have
  for (const { obj } of k8sObjects().filter((o) => o.obj.kind === 'Service')) {
    const d = [console_, hub].find((x) => Object.entries(obj.spec.selector).every(([k, v]) => x.spec.template.metadata.labels[k] === v));
    assert.ok(d, `Service ${obj.metadata.name} selects a Deployment`);
    const ports = d.spec.template.spec.containers[0].ports.map((p: any) => p.name);
    for (const p of obj.spec.ports) assert.ok(ports.includes(p.targetPort), `Service ${obj.metadata.name} → port ${p.targetPort}`);
  }
  assert.equal(find('Service', 'bpfscope-console').spec.selector['app.kubernetes.io/name'], 'bpfscope-console');
  // the Ingress sends the live parts to the hub, the rest to the replicas
  const paths = find('Ingress', 'bpfscope').spec.rules[0].http.paths;
  const to = (p: string) => paths.find((x: any) => x.path === p)?.backend.service.name;
  assert.equal(to('/api/captures'), 'bpfscope-hub');
  assert.equal(to('/api/collectors'), 'bpfscope-hub');
  assert.equal(to('/'), 'bpfscope-console');
  // the Secrets are the user's (named in the README), not committed here
  assert.equal(k8sObjects().filter((o) => o.obj.kind === 'Secret').length, 0);
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  for (const s of ['bpfscope-database', 'bpfscope-tokens']) assert.ok(readme.includes(s), `README says how to create Secret ${s}`);
});

test('kubernetes: every BPFSCOPE_* variable the manifests set is read by the code', () => {
  const src = sourceText();
  for (const { file, obj } of k8sObjects()) {
    const pod = obj.spec?.template?.spec;
    for (const c of [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])])
      for (const e of c.env ?? [])
        if (e.name.startsWith('BPFSCOPE_') && e.name !== 'BPFSCOPE_K8S_API') assert.ok(src.includes(e.name), `${file}: ${e.name} is read by the code`);
  }
});

test('kubernetes: node-labels.mjs writes the node labels the collector accepts, and survives an unreachable API', async () => {
  const { collectorLabels } = await import(join(k8sDir, 'node-labels.mjs'));
  assert.deepEqual(
    collectorLabels({ 'kubernetes.io/arch': 'amd64', 'topology.kubernetes.io/zone': 'eu-1a', 'bad key': 'x', long: 'v'.repeat(64), odd: 'a,b' }),
    {
      value: 'kubernetes.io/arch=amd64,topology.kubernetes.io/zone=eu-1a',
      dropped: ['bad key', 'long', 'odd'],
    },
  );
  const srv = createServer((req, res) => {
    if (req.url === '/api/v1/nodes/node-7') res.end(JSON.stringify({ metadata: { labels: { 'kubernetes.io/hostname': 'node-7', pool: 'db' } } }));
    else res.writeHead(404).end('{}');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), 'bpfscope-k8s-'));
  try {
    const runAsync = (node: string, api: string) =>
      new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const ch = spawn(process.execPath, [join(k8sDir, 'node-labels.mjs'), join(dir, 'labels')], {
          env: { ...process.env, NODE_NAME: node, BPFSCOPE_K8S_API: api },
        });
        let stderr = '';
        ch.stderr.on('data', (b) => (stderr += b));
        ch.on('exit', (status) => resolve({ status, stderr }));
      });
    let r = await runAsync('node-7', `http://127.0.0.1:${port}`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(join(dir, 'labels'), 'utf8'), 'kubernetes.io/hostname=node-7,pool=db');
    r = await runAsync('node-8', `http://127.0.0.1:${port}`);
    assert.equal(r.status, 0);
    assert.match(r.stderr, /could not read node node-8's labels \(HTTP 404/);
    assert.equal(readFileSync(join(dir, 'labels'), 'utf8'), '');
  } finally {
    srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
