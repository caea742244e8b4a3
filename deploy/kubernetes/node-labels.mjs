// Init container of the collector DaemonSet: reads this node's labels from the Kubernetes API
// (its ServiceAccount may only `get nodes`) and writes those that are valid collector labels as
// "k=v,k2=v2" to the file named by argv[2], for BPFSCOPE_COLLECTOR_LABELS. Labels the collector
// would refuse (long or odd keys/values) are left out and named on stderr; an unreachable API is
// not fatal: the collector then joins without labels.
import fs from 'node:fs';
import https from 'node:https';
import http from 'node:http';

const out = process.argv[2];
const node = process.env.NODE_NAME;
const SA = '/var/run/secrets/kubernetes.io/serviceaccount';
// the same rules as apps/collector/src/server/config.ts (LABEL_KEY_RE, LABEL_VALUE_RE)
const KEY = /^[A-Za-z0-9][A-Za-z0-9_./-]{0,62}$/;
const VALUE = /^[A-Za-z0-9_.-]{0,63}$/;

export function collectorLabels(labels) {
  const kept = [];
  const dropped = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (KEY.test(k) && VALUE.test(String(v)) && !k.includes(',') && !String(v).includes(',')) kept.push(`${k}=${v}`);
    else dropped.push(k);
  }
  return { value: kept.sort().join(','), dropped };
}

function get(url) {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  const headers = {};
  const opts = { headers, timeout: 10000 };
  if (fs.existsSync(`${SA}/token`)) headers.authorization = `Bearer ${fs.readFileSync(`${SA}/token`, 'utf8').trim()}`;
  if (u.protocol === 'https:' && fs.existsSync(`${SA}/ca.crt`)) opts.ca = fs.readFileSync(`${SA}/ca.crt`);
  return new Promise((resolve, reject) => {
    const req = mod.get(u, opts, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`HTTP ${res.statusCode}: ${body.slice(0, 200)}`))));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

async function main() {
  if (!out) throw new Error('usage: node node-labels.mjs OUTPUT_FILE (with NODE_NAME set)');
  let value = '';
  if (!node) console.error('node-labels: NODE_NAME is not set; no labels');
  else {
    const api =
      process.env.BPFSCOPE_K8S_API ||
      `https://${process.env.KUBERNETES_SERVICE_HOST || 'kubernetes.default.svc'}:${process.env.KUBERNETES_SERVICE_PORT || 443}`;
    try {
      const n = await get(`${api}/api/v1/nodes/${encodeURIComponent(node)}`);
      const r = collectorLabels(n.metadata?.labels);
      value = r.value;
      if (r.dropped.length) console.error(`node-labels: left out labels the collector would refuse: ${r.dropped.join(', ')}`);
    } catch (e) {
      console.error(`node-labels: could not read node ${node}'s labels (${e.message}); joining without labels`);
    }
  }
  fs.writeFileSync(out, value);
  console.error(`node-labels: ${value || '(none)'}`);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop())) {
  main().catch((e) => {
    console.error(`node-labels: ${e.message}`);
    process.exit(1);
  });
}
