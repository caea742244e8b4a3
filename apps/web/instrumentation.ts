/**
 * Next's once-per-server-process hook: starts the hub's join endpoint (server/join.ts), the small
 * WebSocket server on BPFSCOPE_JOIN_PORT that collectors started with `--hub` dial.
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const [{ getHub }, { startJoinFromEnv }] = await Promise.all([import('./server/captures'), import('./server/join')]);
  await startJoinFromEnv(getHub());
}
