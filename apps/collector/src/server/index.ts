/**
 * `bpfscope serve`: run the collector service until SIGTERM/SIGINT.
 * Prints one line `bpfscope collector listening on http://HOST:PORT` on stdout once bound
 * (tests read the port from it); structured logs (pino JSON) go to stderr.
 */
import pino from 'pino';
type Logger = pino.Logger;
import { loadConfig, SERVE_USAGE, type ServerConfig } from './config.js';
import { createCollectorServer, type CollectorServer } from './server.js';
import { loadEngine, type CaptureEngine } from '../engine.js';

export { ConfigError, DEFAULT_LIMITS, isLoopback, loadConfig, SERVE_USAGE, type ServerConfig, type ServerLimits } from './config.js';
export { createCollectorServer, COLLECTOR_VERSION, type CollectorServer, type CollectorServerDeps } from './server.js';
export { createEngine, loadEngine, toolOptions, type CaptureEngine, type CaptureSource, type SystemInfo } from '../engine.js';
export { checkUpgrade, tokenMatches } from './auth.js';

export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { svc: 'bpfscope-collector', pid: process.pid },
      redact: { paths: ['token', 'headers.authorization', 'req.headers.authorization', 'config.token'], censor: '[redacted]' },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}

/** Start the collector from CLI arguments; resolves when it has shut down after a signal. */
export async function runServe(argv: string[], opts: { engine?: CaptureEngine } = {}): Promise<void> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(SERVE_USAGE + '\n');
    return;
  }
  // a ConfigError propagates: the CLI prints its message (naming the flag or variable) and exits 1
  const config: ServerConfig = loadConfig(argv);
  const log = createLogger(config.logLevel);
  if (config.simulate && config.join) return runSimulated(config, log);
  // a long-running service: forget exited processes' symbol state every 30 s
  const engine = opts.engine ?? (await loadEngine({ pruneEveryMs: 30_000 }));
  const sys = engine.system(); // probes the tools once, before accepting clients
  engine.warm?.();
  let server: CollectorServer;
  try {
    server = await createCollectorServer({ config, engine, log });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const hint = err.code === 'EADDRINUSE' ? ` (port ${config.port} is in use: pass --port or set BPFSCOPE_COLLECTOR_PORT)` : '';
    throw new Error(`serve: cannot listen on ${config.host}:${config.port}: ${err.message}${hint}`);
  }
  const host = server.host.includes(':') ? `[${server.host}]` : server.host;
  log.info(
    {
      host: server.host,
      port: server.port,
      auth: config.token !== undefined,
      allowedOrigins: config.allowedOrigins,
      limits: config.limits,
      privileged: sys.privileged,
      tools: sys.tools,
    },
    'collector listening',
  );
  if (!sys.privileged) log.warn({ problem: sys.privilegeProblem }, 'cannot load BPF programs: captures will be refused');
  process.stdout.write(`bpfscope collector listening on http://${host}:${server.port}\n`);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal: sig }, 'signal received');
      server.shutdown().then(resolve, (e) => {
        log.error({ err: (e as Error).message }, 'shutdown failed');
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  log.info('collector stopped');
}

/** --simulate N: N synthetic hosts in this process, each with its own (ephemeral-port) listener, joining the hub. */
async function runSimulated(config: ServerConfig, log: Logger): Promise<void> {
  const { loadRecording, SimulatedEngine } = await import('./simulate.js');
  const sim = config.simulate!;
  const join = config.join!;
  const recording = loadRecording(sim.file);
  const servers: CollectorServer[] = [];
  for (let i = 0; i < sim.hosts; i++) {
    const name = `${join.name}-${i}`;
    const engine = new SimulatedEngine(recording, name, i);
    servers.push(
      await createCollectorServer({
        config: { ...config, port: i === 0 ? config.port : 0, join: { ...join, name, labels: { ...join.labels, simulated: 'true' } } },
        engine,
        log: log.child({ host: name }),
      }),
    );
  }
  process.stdout.write(`bpfscope collector simulating ${sim.hosts} hosts (${recording.length} recorded stacks) joining ${join.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => void Promise.all(servers.map((s) => s.shutdown())).then(() => resolve());
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
