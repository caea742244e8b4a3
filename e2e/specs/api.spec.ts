/** The REST API over real HTTP against `next start` (and the real collector for captures). */
import fs from 'node:fs';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { CORPUS, HOT_FN, captureViaApi, startBurn } from '../helpers.js';
import { E2E_MAX_UPLOAD_MB } from '../stack.js';

const folded = 'nginx;main;serve;read 7\nnginx;main;serve;write 3\nredis;main;loop 5\n';

test('upload → list → get in every format → delete → 404', async ({ request }) => {
  let r = await request.post('/api/snapshots?name=api%20spec&fileName=a.folded', { data: folded, headers: { 'content-type': 'application/octet-stream' } });
  expect(r.status(), await r.text()).toBe(201);
  const { id, url } = await r.json();
  expect(url).toBe(`/s/${id}`);

  r = await request.get('/api/snapshots?q=api%20spec');
  const { snapshots } = await r.json();
  expect(snapshots.map((s: { id: string }) => s.id)).toContain(id);
  const row = snapshots.find((s: { id: string }) => s.id === id);
  expect(row).toMatchObject({ name: 'api spec', tool: 'import', total: 15, unit: 'samples' });

  r = await request.get(`/api/snapshots/${id}?format=json`);
  expect(r.status()).toBe(200);
  const j = await r.json();
  expect(j.snapshot).toMatchObject({ id, name: 'api spec', total: 15 });
  expect(typeof j.profile).toBe('object');

  r = await request.get(`/api/snapshots/${id}?format=folded`);
  expect(r.headers()['content-disposition']).toContain('filename="api_spec.folded"');
  expect(await r.text()).toContain('nginx;main;serve;read 7');
  r = await request.get(`/api/snapshots/${id}?format=pprof`);
  expect(r.status()).toBe(200);
  expect((await r.body()).length).toBeGreaterThan(20);
  r = await request.get(`/api/snapshots/${id}?format=speedscope`);
  expect(JSON.parse(await r.text()).$schema).toContain('speedscope');
  r = await request.get(`/api/snapshots/${id}?format=svg`);
  expect(r.headers()['content-type']).toContain('image/svg+xml');
  expect(r.headers()['x-content-type-options']).toBe('nosniff');
  expect(await r.text()).toContain('<svg');

  r = await request.delete(`/api/snapshots/${id}`);
  expect(r.status()).toBe(204);
  r = await request.get(`/api/snapshots/${id}`);
  expect(r.status()).toBe(404);
  expect((await r.json()).error).toContain('no snapshot with id');
  r = await request.delete(`/api/snapshots/${id}`);
  expect(r.status()).toBe(404);
});

test('bad uploads → 400 naming the problem; too large → 413; >10 MB below the cap works', async ({ request }) => {
  let r = await request.post('/api/snapshots?name=bad&format=folded', { data: 'a;b 1\nno count here\n' });
  expect(r.status()).toBe(400);
  expect((await r.json()).error).toMatch(/line 2/);
  r = await request.post('/api/snapshots?name=bad&format=xlsx', { data: 'a;b 1\n' });
  expect(r.status()).toBe(400);
  expect((await r.json()).error).toMatch(/format/);
  r = await request.post('/api/snapshots?name=bad', { data: '' });
  expect(r.status()).toBe(400);
  r = await request.post('/api/snapshots?name=huge', { data: Buffer.alloc(E2E_MAX_UPLOAD_MB * 1048576 + 1024, 0x61) });
  expect(r.status()).toBe(413);
  expect((await r.json()).error).toMatch(/too large/);
  // an 11 MB file (more than Next's 10 MB default proxy body buffer) goes through; few, long
  // lines keep the import quick
  const pad = 'x'.repeat(200);
  const lines: string[] = [];
  for (let i = 0; i < 50000; i++) lines.push(`app;main;mod${i % 500}_${pad};fn${i} ${1 + (i % 7)}`);
  const big = lines.join('\n') + '\n';
  expect(big.length).toBeGreaterThan(10.5 * 1048576);
  r = await request.post('/api/snapshots?name=big&fileName=big.folded', { data: Buffer.from(big) });
  expect(r.status(), await r.text()).toBe(201);
  await request.delete(`/api/snapshots/${(await r.json()).id}`);
});

test('corpus perf script (gzip) imports with 9880 samples', async ({ request }) => {
  const gz = fs.readFileSync(path.join(CORPUS, 'perf-script-busy.txt.gz'));
  const r = await request.post('/api/snapshots?name=corpus-api&fileName=perf-script-busy.txt.gz', { data: gz });
  expect(r.status(), await r.text()).toBe(201);
  const { id } = await r.json();
  const s = await (await request.get(`/api/snapshots/${id}`)).json();
  expect(s.snapshot.total).toBe(9880);
  await request.delete(`/api/snapshots/${id}`);
});

test('collectors list the real collector as healthy; processes come from the host', async ({ request }) => {
  const { collectors } = await (await request.get('/api/collectors')).json();
  expect(collectors[0]).toMatchObject({ id: 'local', healthy: true });
  expect(collectors[0].health.status).toBe('ok');
  const r = await request.get('/api/collectors/local/processes');
  expect(r.status()).toBe(200);
  const { processes } = await r.json();
  expect(processes.some((p: { pid: number }) => p.pid === 1)).toBe(true);
  expect((await request.get('/api/collectors/nope/processes')).status()).toBe(404);
});

test('captures: 400 naming the field; a real profile capture through the API is saved', async ({ request }) => {
  let r = await request.post('/api/captures', { data: { tool: 'profile', durationSec: 2, options: { frequncy: 99 } } });
  expect(r.status()).toBe(400);
  expect((await r.json()).error).toContain('options.frequncy');
  r = await request.post('/api/captures', { data: { tool: 'nope', durationSec: 2 } });
  expect(r.status()).toBe(400);
  expect((await r.json()).field).toBe('tool');
  expect((await request.get('/api/captures/doesnotexist')).status()).toBe(404);

  const w = startBurn({ secs: 30 });
  try {
    const cap = await captureViaApi(request, { tool: 'profile', durationSec: 2, options: { pid: w.pid, frequency: 199 }, name: 'api capture' });
    expect(cap.snapshotId).toBeTruthy();
    const text = await (await request.get(`/api/snapshots/${cap.snapshotId}?format=folded`)).text();
    expect(text).toContain(HOT_FN);
    await request.delete(`/api/snapshots/${cap.snapshotId}`);
  } finally {
    await w.stop();
  }
});
