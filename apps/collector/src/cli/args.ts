/**
 * A small command-line parser for bcc-style flags (argparse semantics, without the dependency):
 * `-F 99`, `-F99`, `-p 1,2`, `--stack-storage-size=N`, `--stack-storage-size N`, combined short
 * flags `-df` / `-dfF99`, `--` to end flags, mutually exclusive groups, typed positionals.
 *
 * Errors are `UsageError`s carrying the argparse-like reason (`argument -F/--frequency: ...`); the
 * caller prints the usage line plus the reason and exits with 2, as argparse does.
 */

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Thrown by value parsers; the parser prefixes it with the flag's name. */
export class ValueError extends Error {}

export interface FlagSpec {
  /** single letter, without the dash */
  short?: string;
  /** long name without the dashes */
  long: string;
  /** key in the result object */
  dest: string;
  /** `bool` flags take no value; `value` flags take exactly one. */
  kind: 'bool' | 'value';
  metavar?: string;
  help: string;
  parse?: (raw: string) => unknown;
  /** flags in the same group may not be combined (argparse mutually exclusive group). */
  group?: string;
  /** accepted by bcc but not by bpfscope: using it is a usage error with this reason. */
  unsupported?: string;
}

export interface PositionalSpec {
  name: string;
  help: string;
  parse: (raw: string) => unknown;
}

export interface CommandSpec {
  name: string;
  description: string;
  /** the usage line after `usage: ` */
  usage: string;
  flags: FlagSpec[];
  positionals: PositionalSpec[];
  examples: string;
}

export interface Parsed {
  values: Record<string, unknown>;
  help: boolean;
}

function flagLabel(f: FlagSpec): string {
  return f.short ? `-${f.short}/--${f.long}` : `--${f.long}`;
}

const NEGATIVE_NUMBER = /^-\d+$/;

export function parseArgs(spec: CommandSpec, argv: readonly string[]): Parsed {
  const values: Record<string, unknown> = {};
  const seenGroup = new Map<string, FlagSpec>();
  const positionals: string[] = [];
  let help = false;
  let onlyPositionals = false;

  const byShort = new Map<string, FlagSpec>();
  const byLong = new Map<string, FlagSpec>();
  for (const f of spec.flags) {
    if (f.short) byShort.set(f.short, f);
    byLong.set(f.long, f);
  }

  const apply = (f: FlagSpec, raw: string | undefined): void => {
    if (f.unsupported) throw new UsageError(`argument ${flagLabel(f)}: ${f.unsupported}`);
    if (f.group) {
      const other = seenGroup.get(f.group);
      if (other && other !== f) throw new UsageError(`argument ${flagLabel(f)}: not allowed with argument ${flagLabel(other)}`);
      seenGroup.set(f.group, f);
    }
    if (f.kind === 'bool') {
      values[f.dest] = true;
      return;
    }
    if (raw === undefined) throw new UsageError(`argument ${flagLabel(f)}: expected one argument`);
    try {
      values[f.dest] = f.parse ? f.parse(raw) : raw;
    } catch (e) {
      if (e instanceof ValueError) throw new UsageError(`argument ${flagLabel(f)}: invalid value ${JSON.stringify(raw)}: ${e.message}`);
      throw e;
    }
  };

  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i];
    if (onlyPositionals || tok === '-' || !tok.startsWith('-') || NEGATIVE_NUMBER.test(tok)) {
      positionals.push(tok);
      continue;
    }
    if (tok === '--') {
      onlyPositionals = true;
      continue;
    }
    if (tok.startsWith('--')) {
      const eq = tok.indexOf('=');
      const name = eq >= 0 ? tok.slice(2, eq) : tok.slice(2);
      if (name === 'help') {
        help = true;
        continue;
      }
      let f = byLong.get(name);
      if (!f) {
        // argparse accepts unambiguous prefixes of long options
        const cands = [...byLong.keys()].filter((k) => k.startsWith(name));
        if (cands.length === 1) f = byLong.get(cands[0]);
        else if (cands.length > 1) throw new UsageError(`ambiguous option: --${name} could match ${cands.map((c) => '--' + c).join(', ')}`);
      }
      if (!f) throw new UsageError(`unrecognized arguments: ${tok}`);
      if (f.kind === 'bool') {
        if (eq >= 0) throw new UsageError(`argument ${flagLabel(f)}: ignored explicit argument ${JSON.stringify(tok.slice(eq + 1))}`);
        apply(f, undefined);
      } else if (eq >= 0) {
        apply(f, tok.slice(eq + 1));
      } else {
        const next = argv[i + 1];
        const takes = next !== undefined && !(next.startsWith('-') && next !== '-' && !NEGATIVE_NUMBER.test(next));
        apply(f, takes ? next : undefined);
        i++;
      }
      continue;
    }
    // a cluster of short flags: -d, -df, -F99, -dfF 99
    for (let j = 1; j < tok.length; j++) {
      const c = tok[j];
      if (c === 'h') {
        help = true;
        continue;
      }
      const f = byShort.get(c);
      if (!f) throw new UsageError(j === 1 ? `unrecognized arguments: ${tok}` : `unrecognized arguments: -${c} (in ${tok})`);
      if (f.kind === 'bool') {
        apply(f, undefined);
        continue;
      }
      let raw: string | undefined = tok.slice(j + 1);
      if (raw.startsWith('=')) raw = raw.slice(1);
      if (raw === '') {
        const next = argv[i + 1];
        if (next !== undefined && !(next.startsWith('-') && next !== '-' && !NEGATIVE_NUMBER.test(next))) {
          raw = next;
          i++;
        } else {
          raw = undefined;
        }
      }
      apply(f, raw);
      break;
    }
  }

  if (help) return { values, help };

  if (positionals.length > spec.positionals.length) {
    throw new UsageError(`unrecognized arguments: ${positionals.slice(spec.positionals.length).join(' ')}`);
  }
  positionals.forEach((raw, idx) => {
    const p = spec.positionals[idx];
    try {
      values[p.name] = p.parse(raw);
    } catch (e) {
      if (e instanceof ValueError) throw new UsageError(`argument ${p.name}: invalid value ${JSON.stringify(raw)}: ${e.message}`);
      throw e;
    }
  });
  return { values, help };
}

// ---- value parsers (bcc's positive_int & co., with their messages) ----

export function positiveInt(raw: string): number {
  if (!/^\s*[+-]?\d+\s*$/.test(raw)) throw new ValueError('must be an integer');
  const v = Number(raw);
  if (v < 0) throw new ValueError('must be positive');
  if (!Number.isSafeInteger(v)) throw new ValueError('is too large');
  return v;
}

export function positiveNonzeroInt(raw: string): number {
  const v = positiveInt(raw);
  if (v === 0) throw new ValueError('must be nonzero');
  return v;
}

export function positiveIntList(raw: string): number[] {
  const parts = raw.split(',');
  if (parts.some((p) => p.trim() === '')) throw new ValueError('must be a comma-separated list of integers, like 185,175');
  return parts.map((p) => {
    try {
      return positiveInt(p);
    } catch (e) {
      if (e instanceof ValueError) throw new ValueError(`${JSON.stringify(p)} ${e.message}`);
      throw e;
    }
  });
}

export function formatHelp(spec: CommandSpec): string {
  const lines: string[] = [];
  lines.push(`usage: ${spec.usage}`, '', spec.description, '');
  if (spec.positionals.length) {
    lines.push('positional arguments:');
    for (const p of spec.positionals) lines.push(`  ${p.name.padEnd(26)}${p.help}`);
    lines.push('');
  }
  lines.push('options:');
  lines.push(`  ${'-h, --help'.padEnd(26)}show this help message and exit`);
  for (const f of spec.flags) {
    if (f.unsupported) continue;
    const meta = f.kind === 'value' ? ` ${f.metavar ?? f.dest.toUpperCase()}` : '';
    const name = f.short ? `-${f.short}${meta}, --${f.long}${meta}` : `--${f.long}${meta}`;
    if (name.length > 24) lines.push(`  ${name}`, `  ${''.padEnd(26)}${f.help}`);
    else lines.push(`  ${name.padEnd(26)}${f.help}`);
  }
  lines.push('', spec.examples.trimEnd(), '');
  return lines.join('\n');
}
