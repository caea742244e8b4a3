/** Direct entry for the service: `node --conditions=source --import tsx apps/collector/src/server/main.ts [flags]` (same as `bpfscope serve`). */
import { runServe } from './index.js';

runServe(process.argv.slice(2)).then(
  () => process.exit(),
  (e) => {
    process.stderr.write(`bpfscope serve: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
