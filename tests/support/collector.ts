/** How the tests and e2e specs start a `bpfscope serve` that joins a hub. */

/**
 * The flags of `bpfscope serve` that make it join the hub whose join endpoint listens on
 * 127.0.0.1:`joinPort`, with the join token read from `tokenFile`, as `name`, with `labels`
 * (KEY=VALUE each).
 */
export function joinFlags(joinPort: number, tokenFile: string, name: string, labels: string[] = []): string[] {
  return ['--hub', `ws://127.0.0.1:${joinPort}`, '--join-token-file', tokenFile, '--name', name, ...labels.flatMap((l) => ['--label', l])];
}
