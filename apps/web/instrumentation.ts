/**
 * Next's once-per-server-process hook: opens the snapshot store (its migrations run now, at start,
 * not on the first request; an unreachable database is logged and retried on later requests) and
 * starts the hub's join endpoint (server/join.ts), the small WebSocket server on
 * BPFSCOPE_JOIN_PORT that collectors started with `--hub` dial.
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const [{ getHub }, { startJoinFromEnv }, { getSnapshotStore }] = await Promise.all([
    import('./server/captures'),
    import('./server/join'),
    import('./server/snapshots'),
  ]);
  try {
    const store = getSnapshotStore();
    await store.count();
    console.log(`[bpfscope] snapshot store: ${store.kind} at ${store.location}`);
  } catch (e) {
    console.error(`[bpfscope] snapshot store not ready at start: ${(e as Error).message}`);
  }
  await startJoinFromEnv(getHub());
}
