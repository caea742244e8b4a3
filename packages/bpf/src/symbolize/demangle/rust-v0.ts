/** Rust v0 mangling (RFC 2603): `_R [<decimal>] <path> [<instantiating-crate>] [.suffix]`. */
import { MAX_DEPTH } from './common.js';

class RustV0 {
  private readonly s: string;
  private p: number;
  private depth = 0;
  /** number of lifetimes bound by enclosing for<...> binders */
  private bound = 0;
  constructor(s: string, start: number) {
    this.s = s;
    this.p = start;
  }
  get pos(): number {
    return this.p;
  }
  private peek(): string {
    return this.s[this.p] ?? '';
  }
  private eat(c: string): boolean {
    if (this.s[this.p] === c) {
      this.p++;
      return true;
    }
    return false;
  }
  private fail(): never {
    throw new Error('bad v0');
  }
  private base62(): number {
    if (this.eat('_')) return 0;
    let v = 0;
    for (;;) {
      const c = this.s.charCodeAt(this.p++);
      if (c >= 48 && c <= 57) v = v * 62 + (c - 48);
      else if (c >= 97 && c <= 122) v = v * 62 + (c - 97 + 10);
      else if (c >= 65 && c <= 90) v = v * 62 + (c - 65 + 36);
      else if (c === 95) return v + 1;
      else this.fail();
    }
  }
  private decimal(): number {
    if (this.s[this.p] === '0') {
      this.p++;
      return 0;
    }
    const st = this.p;
    while (this.p < this.s.length && this.s.charCodeAt(this.p) >= 48 && this.s.charCodeAt(this.p) <= 57) this.p++;
    if (st === this.p) this.fail();
    return Number(this.s.slice(st, this.p));
  }
  private disambiguator(): number {
    return this.eat('s') ? this.base62() + 1 : 0;
  }
  private ident(): { name: string; dis: number } {
    const dis = this.disambiguator();
    const puny = this.eat('u');
    const len = this.decimal();
    this.eat('_');
    if (this.p + len > this.s.length) this.fail();
    const raw = this.s.slice(this.p, this.p + len);
    this.p += len;
    return { name: puny ? decodePunycode(raw) : raw, dis };
  }
  private backref<T>(f: () => T): T {
    const target = this.base62() + 2; // offsets count from after "_R"
    if (target >= this.p) this.fail();
    const save = this.p;
    this.p = target;
    if (++this.depth > MAX_DEPTH) this.fail();
    try {
      return f();
    } finally {
      this.depth--;
      this.p = save;
    }
  }
  path(inValue: boolean): string {
    if (++this.depth > MAX_DEPTH) this.fail();
    try {
      const c = this.s[this.p++];
      switch (c) {
        case 'C':
          return this.ident().name;
        case 'M': {
          this.disambiguator();
          this.path(false);
          return `<${this.type()}>`;
        }
        case 'X': {
          this.disambiguator();
          this.path(false);
          const t = this.type();
          return `<${t} as ${this.path(false)}>`;
        }
        case 'Y': {
          const t = this.type();
          return `<${t} as ${this.path(false)}>`;
        }
        case 'N': {
          const ns = this.s[this.p++];
          if (!ns || !/[A-Za-z]/.test(ns)) this.fail();
          const prefix = this.path(inValue);
          const id = this.ident();
          if (ns >= 'A' && ns <= 'Z') {
            const kind = ns === 'C' ? 'closure' : ns === 'S' ? 'shim' : ns;
            return `${prefix}::{${kind}${id.name ? ':' + id.name : ''}#${id.dis}}`;
          }
          return id.name ? `${prefix}::${id.name}` : prefix;
        }
        case 'I': {
          const base = this.path(inValue);
          const args: string[] = [];
          while (!this.eat('E')) args.push(this.genericArg());
          return `${base}${inValue ? '::' : ''}<${args.join(', ')}>`;
        }
        case 'B':
          return this.backref(() => this.path(inValue));
        default:
          return this.fail();
      }
    } finally {
      this.depth--;
    }
  }
  private lifetime(i: number): string {
    if (i === 0) return "'_";
    const d = this.bound - i;
    if (d < 0) return `'${i}`;
    return d < 26 ? `'${String.fromCharCode(97 + d)}` : `'_${d}`;
  }
  /** G <base-62>: a for<...> binder; returns its text and how many lifetimes it binds. */
  private binder(): { text: string; count: number } {
    if (!this.eat('G')) return { text: '', count: 0 };
    const count = this.base62() + 1;
    const names: string[] = [];
    for (let k = 0; k < count; k++) {
      const d = this.bound + k;
      names.push(d < 26 ? `'${String.fromCharCode(97 + d)}` : `'_${d}`);
    }
    return { text: `for<${names.join(', ')}> `, count };
  }
  private genericArg(): string {
    if (this.eat('L')) return this.lifetime(this.base62());
    if (this.eat('K')) return this.constVal();
    return this.type();
  }
  private constVal(): string {
    if (this.eat('p')) return '_';
    if (this.eat('B')) return this.backref(() => this.constVal());
    const t = this.s[this.p++];
    const neg = this.eat('n');
    const st = this.p;
    while (this.p < this.s.length && /[0-9a-f]/.test(this.s[this.p])) this.p++;
    const hex = this.s.slice(st, this.p);
    if (!this.eat('_')) this.fail();
    const v = hex ? BigInt('0x' + hex) : 0n;
    if (t === 'b') return v ? 'true' : 'false';
    if (t === 'c') return `'${String.fromCodePoint(Number(v))}'`;
    if (!'hmyjotaslxni'.includes(t)) this.fail();
    return (neg ? '-' : '') + v.toString();
  }
  private static readonly BASIC: Record<string, string> = {
    a: 'i8',
    b: 'bool',
    c: 'char',
    d: 'f64',
    e: 'str',
    f: 'f32',
    h: 'u8',
    i: 'isize',
    j: 'usize',
    l: 'i32',
    m: 'u32',
    n: 'i128',
    o: 'u128',
    s: 'i16',
    t: 'u16',
    u: '()',
    v: '...',
    x: 'i64',
    y: 'u64',
    z: '!',
    p: '_',
  };
  type(): string {
    if (++this.depth > MAX_DEPTH) this.fail();
    try {
      const c = this.peek();
      const basic = RustV0.BASIC[c];
      if (basic) {
        this.p++;
        return basic;
      }
      switch (c) {
        case 'A': {
          this.p++;
          const t = this.type();
          return `[${t}; ${this.constVal()}]`;
        }
        case 'S':
          this.p++;
          return `[${this.type()}]`;
        case 'T': {
          this.p++;
          const ts: string[] = [];
          while (!this.eat('E')) ts.push(this.type());
          return ts.length === 1 ? `(${ts[0]},)` : `(${ts.join(', ')})`;
        }
        case 'R':
        case 'Q': {
          this.p++;
          let lt = '';
          if (this.eat('L')) {
            const n = this.base62();
            if (n) lt = this.lifetime(n) + ' ';
          }
          return `&${lt}${c === 'Q' ? 'mut ' : ''}${this.type()}`;
        }
        case 'P':
          this.p++;
          return `*const ${this.type()}`;
        case 'O':
          this.p++;
          return `*mut ${this.type()}`;
        case 'F': {
          this.p++;
          const b = this.binder();
          this.bound += b.count;
          try {
            const unsafe = this.eat('U');
            let abi = '';
            if (this.eat('K')) {
              if (this.eat('C')) abi = 'C';
              else abi = this.ident().name.replace(/_/g, '-');
            }
            const args: string[] = [];
            while (!this.eat('E')) args.push(this.type());
            const ret = this.type();
            return `${b.text}${unsafe ? 'unsafe ' : ''}${abi ? `extern "${abi}" ` : ''}fn(${args.join(', ')})${ret === '()' ? '' : ' -> ' + ret}`;
          } finally {
            this.bound -= b.count;
          }
        }
        case 'D': {
          this.p++;
          const b = this.binder();
          this.bound += b.count;
          const traits: string[] = [];
          while (!this.eat('E')) {
            let t = this.path(false);
            const binds: string[] = [];
            while (this.eat('p')) {
              const id = this.ident();
              binds.push(`${id.name} = ${this.type()}`);
            }
            if (binds.length) t = t.endsWith('>') ? `${t.slice(0, -1)}, ${binds.join(', ')}>` : `${t}<${binds.join(', ')}>`;
            traits.push(t);
          }
          this.bound -= b.count;
          if (!this.eat('L')) this.fail();
          const lt = this.base62();
          return `dyn ${b.text}${traits.join(' + ')}${lt ? ' + ' + this.lifetime(lt) : ''}`;
        }
        case 'B':
          this.p++;
          return this.backref(() => this.type());
        default:
          return this.path(false);
      }
    } finally {
      this.depth--;
    }
  }
}

/** RFC 3492 punycode as Rust v0 uses it ('_' separates the basic characters). Throws on bad input. */
function decodePunycode(s: string): string {
  const sep = s.lastIndexOf('_');
  const out: number[] = [];
  for (let i = 0; i < sep; i++) out.push(s.charCodeAt(i));
  let n = 128;
  let i = 0;
  let bias = 72;
  let p = sep + 1;
  while (p < s.length) {
    const oldi = i;
    let w = 1;
    for (let k = 36; ; k += 36) {
      if (p >= s.length) throw new Error('bad punycode');
      const c = s.charCodeAt(p++);
      const digit = c >= 97 && c <= 122 ? c - 97 : c >= 48 && c <= 57 ? c - 22 : -1;
      if (digit < 0) throw new Error('bad punycode');
      i += digit * w;
      const t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;
      if (digit < t) break;
      w *= 36 - t;
      if (i > 0x10ffff * 64) throw new Error('bad punycode');
    }
    const len = out.length + 1;
    let delta = oldi === 0 ? Math.floor((i - oldi) / 700) : (i - oldi) >> 1;
    delta += Math.floor(delta / len);
    let k = 0;
    while (delta > ((36 - 1) * 26) >> 1) {
      delta = Math.floor(delta / 35);
      k += 36;
    }
    bias = k + Math.floor((36 * delta) / (delta + 38));
    n += Math.floor(i / len);
    i %= len;
    if (n > 0x10ffff) throw new Error('bad punycode');
    out.splice(i, 0, n);
    i++;
  }
  return String.fromCodePoint(...out);
}

export function demangleRustV0(name: string): string | undefined {
  let s = name;
  let suffix = '';
  const dot = s.indexOf('.');
  if (dot >= 0) {
    suffix = s.slice(dot);
    s = s.slice(0, dot);
    if (suffix.startsWith('.llvm.')) suffix = '';
  }
  if (!s.startsWith('_R')) return undefined;
  let start = 2;
  while (start < s.length && s.charCodeAt(start) >= 48 && s.charCodeAt(start) <= 57) start++; // encoding version
  const r = new RustV0(s, start);
  const out = r.path(true);
  // an instantiating-crate path may follow; anything else means we misparsed
  if (r.pos < s.length) {
    const c = s[r.pos];
    if (!'CB'.includes(c)) return undefined;
  }
  return out + suffix;
}
