/**
 * `bpfscope <tool> [flags]`: bcc-compatible command line (profile, offcputime, wakeuptime,
 * offwaketime, biolatency) and `bpfscope serve` (the collector's WebSocket server).
 */
import { pathToFileURL } from 'node:url';
import { realpathSync } from 'node:fs';
import { runTool, type CliDeps, type CliIO } from './run.js';
import { isToolName, SPECS, TOOL_NAMES } from './specs.js';

export const MAIN_USAGE = `usage: bpfscope <command> [flags]

BPF tracing with bcc-compatible flags and output, and the bpfscope collector.

commands:
${TOOL_NAMES.map((t) => `  ${t.padEnd(13)}${SPECS[t].description}`).join('\n')}
  serve        Run the collector's WebSocket server for the web console

Run 'bpfscope <command> -h' for the flags of one command.
`;

/** stdout/stderr writers and SIGINT/SIGTERM as stop requests. */
export function processIO(): CliIO {
  return {
    out: (s) => void process.stdout.write(s),
    err: (s) => void process.stderr.write(s),
    onStop(cb) {
      let active = true;
      const h = () => {
        if (active) cb();
      };
      process.on('SIGINT', h);
      process.on('SIGTERM', h);
      // like bcc's signal_ignore: once the capture is over, a repeated Ctrl-C (a terminal's, plus the
      // one the bin shim forwards) must not cut the report short, so the handler stays, inert
      return () => {
        active = false;
      };
    },
  };
}

export async function main(argv: readonly string[], deps: Partial<CliDeps> = {}): Promise<number> {
  const io = deps.io ?? processIO();
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    if (cmd === undefined) {
      io.err(MAIN_USAGE);
      return 2;
    }
    io.out(MAIN_USAGE);
    return 0;
  }
  if (cmd === 'serve') {
    // the server is another module (apps/collector/src/server): loaded only when asked for
    const spec = '../server/index.js';
    const server = (await import(spec)) as { runServe?: (argv: string[]) => Promise<void> };
    if (typeof server.runServe !== 'function') {
      io.err('bpfscope serve: the collector server (src/server/index) does not export runServe\n');
      return 1;
    }
    // resolves once the server has shut down after SIGINT/SIGTERM; a config error (bad flag or
    // variable) propagates with a message naming it
    try {
      await server.runServe(rest);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      io.err(`bpfscope ${msg.startsWith('serve:') ? msg : `serve: ${msg}`}\n`);
      return 1;
    }
    return 0;
  }
  if (!isToolName(cmd)) {
    io.err(`${MAIN_USAGE}\nbpfscope: error: unknown command ${JSON.stringify(cmd)} (choose from ${[...TOOL_NAMES, 'serve'].join(', ')})\n`);
    return 2;
  }
  return runTool(cmd, rest, { ...deps, io });
}

/** Run as the program: exit with main's code once stdout and stderr are flushed. */
export async function runAsProgram(argv: readonly string[]): Promise<void> {
  // `bpfscope profile -f | head` closes the pipe early: that is not an error
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  let code: number;
  try {
    code = await main(argv);
  } catch (e) {
    process.stderr.write(`bpfscope: ${e instanceof Error ? (process.env.BPFSCOPE_DEBUG ? e.stack : e.message) : String(e)}\n`);
    code = 1;
  }
  await new Promise<void>((r) => process.stdout.write('', () => r()));
  await new Promise<void>((r) => process.stderr.write('', () => r()));
  process.exit(code);
}

function isEntry(): boolean {
  const a = process.argv[1];
  if (!a) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(a)).href;
  } catch {
    return false;
  }
}

if (isEntry()) void runAsProgram(process.argv.slice(2));
