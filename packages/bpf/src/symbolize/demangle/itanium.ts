/** The Itanium C++ ABI mangling (`_Z…`), printed as c++filt does (`[clone .cold]` for clone suffixes). */
import { guard, MAX_DEPTH } from './common.js';

type Node =
  | { k: 'name'; s: string; base: string; tmpl: boolean; ctorLike: boolean; full: string | undefined }
  | { k: 'func'; ret?: Node; params: Node[]; cv: string; ref: string }
  | { k: 'array'; elem: Node; dim: string }
  | { k: 'ptr'; inner: Node; op: '*' | '&' | '&&' }
  | { k: 'cv'; inner: Node; q: string }
  | { k: 'memptr'; cls: Node; mem: Node }
  | { k: 'pack'; elems: Node[] }
  | { k: 'expand'; inner: Node }
  | { k: 'vendor'; inner: Node; q: string };

/** Every name node has the same shape (keeps property access monomorphic). */
function mkName(s: string, base: string, tmpl = false, ctorLike = false, full: string | undefined = undefined): Node & { k: 'name' } {
  return { k: 'name', s, base, tmpl, ctorLike, full };
}

function nm(s: string, base = s): Node {
  return mkName(s, base);
}

function mentionsAuto(n: Node): boolean {
  switch (n.k) {
    case 'name':
      return n.s.startsWith('auto:');
    case 'ptr':
    case 'cv':
    case 'vendor':
    case 'expand':
      return mentionsAuto(n.inner);
    case 'array':
      return mentionsAuto(n.elem);
    default:
      return false;
  }
}

/** scope::component */
function joinScope(scope: Node | undefined, comp: Node): Node {
  if (!scope) return comp;
  const base = comp.k === 'name' ? comp.base : printNode(comp);
  return mkName(guard(printNode(scope) + '::' + printNode(comp)), base);
}

function plainInfo(n: Node): { node: Node; cv: string; ref: string; tmpl: boolean; ctorLike: boolean } {
  return { node: n, cv: '', ref: '', tmpl: false, ctorLike: false };
}

function hasFunction(n: Node): boolean {
  return n.k === 'func';
}
function hasArray(n: Node): boolean {
  // a const array of T is an array of const T: `char const (&) [5]`
  return n.k === 'array' || (n.k === 'cv' && hasArray(n.inner));
}

function containsPack(n: Node): boolean {
  switch (n.k) {
    case 'pack':
      return true;
    case 'ptr':
    case 'cv':
    case 'vendor':
      return containsPack(n.inner);
    case 'array':
      return containsPack(n.elem);
    case 'func':
      return (n.ret ? containsPack(n.ret) : false) || n.params.some(containsPack);
    case 'memptr':
      return containsPack(n.cls) || containsPack(n.mem);
    default:
      return false;
  }
}

/** Replace the (first) pack inside n by element i of it. */
function packSize(n: Node): number {
  switch (n.k) {
    case 'pack':
      return n.elems.length;
    case 'ptr':
    case 'cv':
    case 'vendor':
      return packSize(n.inner);
    case 'array':
      return packSize(n.elem);
    case 'func': {
      if (n.ret && containsPack(n.ret)) return packSize(n.ret);
      for (const p of n.params) if (containsPack(p)) return packSize(p);
      return -1;
    }
    case 'memptr':
      return containsPack(n.cls) ? packSize(n.cls) : packSize(n.mem);
    default:
      return -1;
  }
}

function subPack(n: Node, i: number): Node {
  switch (n.k) {
    case 'pack':
      return n.elems[i];
    case 'ptr':
      return mkRef(subPack(n.inner, i), n.op);
    case 'cv':
      return { ...n, inner: subPack(n.inner, i) };
    case 'vendor':
      return { ...n, inner: subPack(n.inner, i) };
    case 'array':
      return { ...n, elem: subPack(n.elem, i) };
    case 'func':
      return { ...n, ret: n.ret ? subPack(n.ret, i) : undefined, params: n.params.map((p) => subPack(p, i)) };
    case 'memptr':
      return { ...n, cls: subPack(n.cls, i), mem: subPack(n.mem, i) };
    default:
      return n;
  }
}

/** Pointer/reference with C++11 reference collapsing. */
function mkRef(inner: Node, op: '*' | '&' | '&&'): Node {
  if (op !== '*' && inner.k === 'ptr' && inner.op !== '*') {
    return { k: 'ptr', inner: inner.inner, op: op === '&&' && inner.op === '&&' ? '&&' : '&' };
  }
  return { k: 'ptr', inner, op };
}

function printLeft(n: Node): string {
  switch (n.k) {
    case 'name':
      return n.s;
    case 'func': {
      if (!n.ret) return '';
      const l = printLeft(n.ret);
      return /[(*&]$/.test(l) && hasFunction(n.ret) === false && n.ret.k === 'ptr' && hasFunction(n.ret.inner) ? l : l + ' ';
    }
    case 'array':
      return printLeft(n.elem);
    case 'ptr': {
      let s = printLeft(n.inner);
      if (hasArray(n.inner)) s += ' ';
      if (hasArray(n.inner) || hasFunction(n.inner)) s += '(';
      return s + n.op;
    }
    case 'cv':
      return printLeft(n.inner) + n.q;
    case 'vendor':
      return printLeft(n.inner) + ' ' + n.q;
    case 'memptr': {
      let s = printLeft(n.mem);
      s += hasArray(n.mem) || hasFunction(n.mem) ? '(' : ' ';
      return s + printNode(n.cls) + '::*';
    }
    case 'pack':
      return n.elems.map(printNode).join(', ');
    case 'expand': {
      const size = packSize(n.inner);
      if (size < 0) return printNode(n.inner) + '...';
      const parts: string[] = [];
      for (let i = 0; i < size; i++) parts.push(printNode(subPack(n.inner, i)));
      return parts.join(', ');
    }
  }
}

function printRight(n: Node): string {
  switch (n.k) {
    case 'func':
      return `(${printParams(n.params)})${n.ret ? printRight(n.ret) : ''}${n.cv}${n.ref}`;
    case 'array':
      return ` [${n.dim}]${printRight(n.elem)}`;
    case 'ptr':
      return (hasArray(n.inner) || hasFunction(n.inner) ? ')' : '') + printRight(n.inner);
    case 'cv':
    case 'vendor':
      return printRight(n.inner);
    case 'memptr':
      return (hasArray(n.mem) || hasFunction(n.mem) ? ')' : '') + printRight(n.mem);
    default:
      return '';
  }
}

function printNode(n: Node): string {
  return printLeft(n) + printRight(n);
}

function printParams(params: Node[]): string {
  if (params.length === 1 && params[0].k === 'name' && params[0].s === 'void') return '';
  return guard(
    params
      .map(printNode)
      .filter((s) => s !== '')
      .join(', '),
  );
}

function printTemplateArgs(args: Node[]): string {
  const s = args
    .map(printNode)
    .filter((x) => x !== '')
    .join(', ');
  return guard(`<${s}${s.endsWith('>') ? ' ' : ''}>`);
}

const BUILTIN: Record<string, string> = {
  v: 'void',
  w: 'wchar_t',
  b: 'bool',
  c: 'char',
  a: 'signed char',
  h: 'unsigned char',
  s: 'short',
  t: 'unsigned short',
  i: 'int',
  j: 'unsigned int',
  l: 'long',
  m: 'unsigned long',
  x: 'long long',
  y: 'unsigned long long',
  n: '__int128',
  o: 'unsigned __int128',
  f: 'float',
  d: 'double',
  e: 'long double',
  g: '__float128',
  z: '...',
};
const BUILTIN_D: Record<string, string> = {
  d: 'decimal64',
  e: 'decimal128',
  f: 'decimal32',
  h: 'half',
  i: 'char32_t',
  s: 'char16_t',
  u: 'char8_t',
  a: 'auto',
  c: 'decltype(auto)',
  n: 'std::nullptr_t',
};

// operator code → [name, arity]
const OPS: Record<string, [string, number]> = {
  nw: ['new', 1],
  na: ['new[]', 1],
  dl: ['delete', 1],
  da: ['delete[]', 1],
  ps: ['+', 1],
  ng: ['-', 1],
  ad: ['&', 1],
  de: ['*', 1],
  co: ['~', 1],
  pl: ['+', 2],
  mi: ['-', 2],
  ml: ['*', 2],
  dv: ['/', 2],
  rm: ['%', 2],
  an: ['&', 2],
  or: ['|', 2],
  eo: ['^', 2],
  aS: ['=', 2],
  pL: ['+=', 2],
  mI: ['-=', 2],
  mL: ['*=', 2],
  dV: ['/=', 2],
  rM: ['%=', 2],
  aN: ['&=', 2],
  oR: ['|=', 2],
  eO: ['^=', 2],
  ls: ['<<', 2],
  rs: ['>>', 2],
  lS: ['<<=', 2],
  rS: ['>>=', 2],
  eq: ['==', 2],
  ne: ['!=', 2],
  lt: ['<', 2],
  gt: ['>', 2],
  le: ['<=', 2],
  ge: ['>=', 2],
  ss: ['<=>', 2],
  nt: ['!', 1],
  aa: ['&&', 2],
  oo: ['||', 2],
  pp: ['++', 1],
  mm: ['--', 1],
  cm: [',', 2],
  pm: ['->*', 2],
  pt: ['->', 2],
  cl: ['()', 2],
  ix: ['[]', 2],
  qu: ['?', 3],
  aw: ['co_await', 1],
};

const CHARTRAITS = '<char, std::char_traits<char> >';
const SPECIAL_SUBS: Record<string, Node> = {
  a: nm('std::allocator', 'allocator'),
  b: nm('std::basic_string', 'basic_string'),
  s: mkName('std::string', 'basic_string', false, false, 'std::basic_string<char, std::char_traits<char>, std::allocator<char> >'),
  i: mkName('std::istream', 'basic_istream', false, false, 'std::basic_istream' + CHARTRAITS),
  o: mkName('std::ostream', 'basic_ostream', false, false, 'std::basic_ostream' + CHARTRAITS),
  d: mkName('std::iostream', 'basic_iostream', false, false, 'std::basic_iostream' + CHARTRAITS),
};

const LITERAL_SUFFIX: Record<string, string> = { j: 'u', l: 'l', m: 'ul', x: 'll', y: 'ull' };

class ItaniumParser {
  private readonly s: string;
  private p = 0;
  private subs: Node[] = [];
  private tparams: Node[] = [];
  private depth = 0;
  /** while parsing the name of an encoding (not inside a type), template args become the T_ table */
  private inEncName = false;
  /** inside a generic lambda's signature, T_ is the lambda's own `auto` parameter */
  private inLambdaSig = false;

  constructor(s: string) {
    this.s = s;
  }

  get pos(): number {
    return this.p;
  }
  private peek(o = 0): string {
    return this.s[this.p + o] ?? '';
  }
  private eat(c: string): boolean {
    if (this.s.startsWith(c, this.p)) {
      this.p += c.length;
      return true;
    }
    return false;
  }
  private fail(): never {
    throw new Error('bad itanium');
  }
  private enter(): void {
    if (++this.depth > MAX_DEPTH) this.fail();
  }

  private number(): number {
    const neg = this.eat('n');
    const st = this.p;
    while (this.p < this.s.length && this.s.charCodeAt(this.p) >= 48 && this.s.charCodeAt(this.p) <= 57) this.p++;
    if (st === this.p) this.fail();
    const v = Number(this.s.slice(st, this.p));
    return neg ? -v : v;
  }
  private numberText(): string {
    const neg = this.eat('n');
    const st = this.p;
    for (;;) {
      const ch = this.s.charCodeAt(this.p);
      if ((ch >= 48 && ch <= 57) || (ch >= 97 && ch <= 102) || ch === 46) this.p++;
      else break;
    }
    return (neg ? '-' : '') + this.s.slice(st, this.p);
  }
  private seqId(): number {
    // base 36 with digits and upper-case letters, terminated by _
    if (this.eat('_')) return 0;
    let v = 0;
    for (;;) {
      const c = this.s.charCodeAt(this.p++);
      if (c >= 48 && c <= 57) v = v * 36 + (c - 48);
      else if (c >= 65 && c <= 90) v = v * 36 + (c - 55);
      else if (c === 95) return v + 1;
      else this.fail();
    }
  }

  /** <encoding> */
  encoding(top: boolean, showReturn = top): string {
    this.enter();
    try {
      const special = this.specialName();
      if (special !== undefined) return special;
      const saveFlag = this.inEncName;
      this.inEncName = true;
      const { node: name, cv, ref, tmpl, ctorLike } = this.nameInfo();
      this.inEncName = saveFlag;
      const atEnd = this.p >= this.s.length || this.peek() === 'E' || this.peek() === '.';
      if (atEnd) return printNode(name);
      let ret: Node | undefined;
      if (tmpl && !ctorLike) ret = this.type();
      const params: Node[] = [];
      do params.push(this.type());
      while (this.p < this.s.length && this.peek() !== 'E' && this.peek() !== '.');
      let out = '';
      // like c++filt, the enclosing function of a local name is shown without its return type
      if (ret && showReturn) out += printLeft(ret) + (hasFunction(ret) || hasArray(ret) ? '' : ' ');
      out += printNode(name) + `(${printParams(params)})`;
      if (ret && showReturn) out += printRight(ret);
      out += cv + ref;
      return out;
    } finally {
      this.depth--;
    }
  }

  private specialName(): string | undefined {
    const two = this.s.slice(this.p, this.p + 2);
    switch (two) {
      case 'TV':
        this.p += 2;
        return 'vtable for ' + printNode(this.type());
      case 'TT':
        this.p += 2;
        return 'VTT for ' + printNode(this.type());
      case 'TI':
        this.p += 2;
        return 'typeinfo for ' + printNode(this.type());
      case 'TS':
        this.p += 2;
        return 'typeinfo name for ' + printNode(this.type());
      case 'Th':
        this.p += 2;
        this.callOffset('h');
        return 'non-virtual thunk to ' + this.encoding(false);
      case 'Tv':
        this.p += 2;
        this.callOffset('v');
        return 'virtual thunk to ' + this.encoding(false);
      case 'Tc':
        this.p += 2;
        this.callOffset(this.s[this.p++]);
        this.callOffset(this.s[this.p++]);
        return 'covariant return thunk to ' + this.encoding(false);
      case 'TW':
        this.p += 2;
        return 'thread-local wrapper routine for ' + printNode(this.nameInfo().node);
      case 'TH':
        this.p += 2;
        return 'TLS init function for ' + printNode(this.nameInfo().node);
      case 'GV':
        this.p += 2;
        return 'guard variable for ' + printNode(this.nameInfo().node);
      case 'GR': {
        this.p += 2;
        const n = printNode(this.nameInfo().node);
        while (this.p < this.s.length && this.peek() !== '_') this.p++;
        this.eat('_');
        return 'reference temporary for ' + n;
      }
      case 'GT':
        if (this.s.startsWith('GTt', this.p) || this.s.startsWith('GTn', this.p)) {
          this.p += 3;
          return 'transaction clone for ' + this.encoding(false);
        }
        return undefined;
      default:
        return undefined;
    }
  }

  private callOffset(kind: string): void {
    if (kind === 'h') {
      this.number();
      if (!this.eat('_')) this.fail();
    } else if (kind === 'v') {
      this.number();
      if (!this.eat('_')) this.fail();
      this.number();
      if (!this.eat('_')) this.fail();
    } else this.fail();
  }

  /** <name>, with what the encoding needs to know about it. */
  private nameInfo(): { node: Node; cv: string; ref: string; tmpl: boolean; ctorLike: boolean } {
    this.enter();
    try {
      const c = this.peek();
      if (c === 'N') return this.nestedName();
      if (c === 'Z') return this.localName();
      // unscoped (possibly template) name or substitution followed by template args
      let node: Node;
      let isSub = false;
      if (c === 'S' && this.peek(1) !== 't') {
        node = this.substitution();
        isSub = true;
      } else {
        const std = this.eat('St');
        const u = this.unqualifiedName(undefined);
        node = std ? nm('std::' + printNode(u), u.k === 'name' ? u.base : printNode(u)) : u;
        if (u.k === 'name' && u.ctorLike) (node as { ctorLike?: boolean }).ctorLike = true;
      }
      if (this.peek() === 'I') {
        if (!isSub) this.subs.push(node);
        const args = this.templateArgs();
        const base = node.k === 'name' ? node.base : printNode(node);
        node = mkName(printNode(node) + printTemplateArgs(args), base, true);
        return { node, cv: '', ref: '', tmpl: true, ctorLike: false };
      }
      if (isSub) this.fail();
      return { node, cv: '', ref: '', tmpl: false, ctorLike: node.k === 'name' && !!node.ctorLike };
    } finally {
      this.depth--;
    }
  }

  private localName(): { node: Node; cv: string; ref: string; tmpl: boolean; ctorLike: boolean } {
    if (!this.eat('Z')) this.fail();
    const saveFlag = this.inEncName;
    const enc = this.encoding(false);
    this.inEncName = saveFlag;
    if (!this.eat('E')) this.fail();
    if (this.eat('s')) {
      this.discriminator();
      return plainInfo(nm(enc + '::string literal'));
    }
    if (this.eat('d')) {
      // default argument scope: Z <encoding> E d [<number>] _ <name>
      if (this.peek() !== '_') this.number();
      if (!this.eat('_')) this.fail();
      const inner = this.nameInfo().node;
      return plainInfo(nm(enc + '::' + printNode(inner)));
    }
    const inner = this.nameInfo();
    this.discriminator();
    const n = inner.node;
    return {
      node: mkName(enc + '::' + printNode(n), n.k === 'name' ? n.base : printNode(n)),
      cv: inner.cv,
      ref: inner.ref,
      tmpl: inner.tmpl,
      ctorLike: inner.ctorLike,
    };
  }

  private discriminator(): void {
    if (this.peek() !== '_') return;
    if (this.eat('__')) {
      this.number();
      if (!this.eat('_')) this.fail();
    } else {
      this.p++;
      this.number();
    }
  }

  private nestedName(): { node: Node; cv: string; ref: string; tmpl: boolean; ctorLike: boolean } {
    if (!this.eat('N')) this.fail();
    const cv = this.cvQualifiers();
    let ref = '';
    if (this.eat('R')) ref = ' &';
    else if (this.eat('O')) ref = ' &&';
    let soFar: Node | undefined;
    let tmpl = false;
    let ctorLike = false;
    if (this.eat('St')) soFar = nm('std');
    while (!this.eat('E')) {
      if (this.p >= this.s.length) this.fail();
      tmpl = false;
      const c = this.peek();
      if (c !== 'I') ctorLike = false;
      if (c === 'T') {
        soFar = joinScope(soFar, this.templateParam());
        this.subs.push(soFar);
        continue;
      }
      if (c === 'I') {
        if (!soFar) this.fail();
        const args = this.templateArgs();
        const base = soFar.k === 'name' ? soFar.base : printNode(soFar);
        const withArgs = mkName(printNode(soFar) + printTemplateArgs(args), base);
        soFar = withArgs;
        tmpl = true;
        this.subs.push(withArgs);
        continue;
      }
      if (c === 'D' && (this.peek(1) === 't' || this.peek(1) === 'T')) {
        soFar = joinScope(soFar, this.decltype());
        this.subs.push(soFar);
        continue;
      }
      if (c === 'S' && this.peek(1) !== 't') {
        const sub = this.substitution();
        soFar = joinScope(soFar, sub);
        continue;
      }
      if (c === 'M') {
        // data-member-prefix (lambda in a member initializer)
        this.p++;
        continue;
      }
      const u = this.unqualifiedName(soFar);
      ctorLike = u.k === 'name' && !!u.ctorLike;
      // a constructor of std::string etc. shows the full class name (as c++filt and LLVM do)
      if (ctorLike && soFar && soFar.k === 'name' && soFar.full && (c === 'C' || c === 'D')) soFar = nm(soFar.full, soFar.base);
      soFar = joinScope(soFar, u);
      this.subs.push(soFar);
    }
    if (!soFar) this.fail();
    this.subs.pop();
    return { node: soFar, cv, ref, tmpl, ctorLike };
  }

  private cvQualifiers(): string {
    // mangled r V K; printed const volatile restrict (as c++filt and LLVM do)
    const r = this.eat('r');
    const v = this.eat('V');
    const k = this.eat('K');
    return (k ? ' const' : '') + (v ? ' volatile' : '') + (r ? ' restrict' : '');
  }

  /** <unqualified-name>, including ctor/dtor names (need the enclosing class). */
  private unqualifiedName(scope: Node | undefined): Node & { ctorLike?: boolean } {
    const c = this.peek();
    let n: Node & { ctorLike?: boolean };
    if (c >= '0' && c <= '9') {
      const id = this.sourceName();
      n = nm(id);
    } else if (c === 'C' || (c === 'D' && this.peek(1) >= '0' && this.peek(1) <= '5')) {
      if (!scope) this.fail();
      const base = scope.k === 'name' ? scope.base : printNode(scope);
      if (c === 'C') {
        this.p++;
        if (this.eat('I')) {
          this.p++;
          this.type();
        } else this.p++;
        n = mkName(base, base, false, true);
      } else {
        this.p += 2;
        n = mkName('~' + base, '~' + base, false, true);
      }
    } else if (c === 'U') {
      if (this.eat('Ut')) {
        const num = this.peek() === '_' ? 1 : this.number() + 2;
        if (!this.eat('_')) this.fail();
        n = nm(`{unnamed type#${num}}`);
      } else if (this.eat('Ul')) {
        const params: Node[] = [];
        const saveL = this.inLambdaSig;
        this.inLambdaSig = true;
        try {
          while (!this.eat('E')) {
            if (this.p >= this.s.length) this.fail();
            params.push(this.type());
          }
        } finally {
          this.inLambdaSig = saveL;
        }
        const num = this.peek() === '_' ? 1 : this.number() + 2;
        if (!this.eat('_')) this.fail();
        n = nm(`{lambda(${printParams(params)})#${num}}`);
      } else this.fail();
    } else if (c === 'D' && this.peek(1) === 'C') {
      this.p += 2;
      const names: string[] = [];
      while (!this.eat('E')) names.push(this.sourceName());
      n = nm(`[${names.join(', ')}]`);
    } else if (c === 'L') {
      // internal-linkage marker used by some compilers: L <source-name>
      this.p++;
      n = nm(this.sourceName());
      this.discriminator();
    } else {
      n = this.operatorName();
    }
    while (this.peek() === 'B') {
      this.p++;
      const tag = this.sourceName();
      n = { ...n, s: `${n.k === 'name' ? n.s : printNode(n)}[abi:${tag}]` } as Node & { ctorLike?: boolean };
    }
    return n;
  }

  private sourceName(): string {
    const len = this.number();
    if (len <= 0 || this.p + len > this.s.length) this.fail();
    const id = this.s.slice(this.p, this.p + len);
    this.p += len;
    if (id.startsWith('_GLOBAL__N')) return '(anonymous namespace)';
    return id;
  }

  private operatorName(): Node & { ctorLike?: boolean } {
    const two = this.s.slice(this.p, this.p + 2);
    if (two === 'cv') {
      this.p += 2;
      const t = this.type();
      return mkName('operator ' + printNode(t), 'operator', false, true);
    }
    if (two === 'li') {
      this.p += 2;
      return nm('operator"" ' + this.sourceName());
    }
    if (two[0] === 'v' && /[0-9]/.test(two[1] ?? '')) {
      this.p += 2;
      return nm('operator ' + this.sourceName());
    }
    const op = OPS[two];
    if (!op) this.fail();
    this.p += 2;
    const sym = op[0];
    return nm(/^[a-z]/.test(sym) ? 'operator ' + sym : 'operator' + sym);
  }

  private substitution(): Node {
    if (!this.eat('S')) this.fail();
    const c = this.peek();
    const special = SPECIAL_SUBS[c];
    if (special) {
      this.p++;
      return special;
    }
    const id = this.seqId();
    const n = this.subs[id];
    if (!n) this.fail();
    return n;
  }

  private templateParam(): Node {
    if (!this.eat('T')) this.fail();
    const idx = this.peek() === '_' ? 0 : this.number() + 1;
    if (!this.eat('_')) this.fail();
    if (this.inLambdaSig) return nm(`auto:${idx + 1}`);
    const n = this.tparams[idx];
    if (!n) this.fail();
    return n;
  }

  private templateArgs(): Node[] {
    if (!this.eat('I')) this.fail();
    const outer = this.inEncName;
    const args: Node[] = [];
    while (!this.eat('E')) {
      if (this.p >= this.s.length) this.fail();
      args.push(this.templateArg());
    }
    if (outer) this.tparams = args;
    return args;
  }

  private templateArg(): Node {
    const c = this.peek();
    if (c === 'X') {
      this.p++;
      const e = this.expression();
      if (!this.eat('E')) this.fail();
      return nm(e);
    }
    if (c === 'L') return nm(this.exprPrimary());
    if (c === 'J') {
      this.p++;
      const elems: Node[] = [];
      while (!this.eat('E')) {
        if (this.p >= this.s.length) this.fail();
        elems.push(this.templateArg());
      }
      return { k: 'pack', elems };
    }
    return this.type();
  }

  private exprPrimary(): string {
    if (!this.eat('L')) this.fail();
    if (this.eat('_Z')) {
      const e = this.encoding(false, true);
      if (!this.eat('E')) this.fail();
      return e;
    }
    if (this.eat('Z')) {
      // some compilers omit the underscore
      const e = this.encoding(false);
      if (!this.eat('E')) this.fail();
      return e;
    }
    const t = this.type();
    const ts = printNode(t);
    if (this.eat('E')) return ts === 'std::nullptr_t' ? 'nullptr' : `(${ts})0`;
    const v = this.numberText();
    if (!this.eat('E')) this.fail();
    if (t.k === 'name') {
      if (ts === 'bool') return v === '0' ? 'false' : 'true';
      if (ts === 'int') return v;
      if (ts === 'std::nullptr_t') return 'nullptr';
      const code = Object.entries(BUILTIN).find(([, name]) => name === ts)?.[0];
      if (code && LITERAL_SUFFIX[code] !== undefined) return v + LITERAL_SUFFIX[code];
    }
    return `(${ts})${v}`;
  }

  private decltype(): Node {
    if (!this.eat('D')) this.fail();
    this.p++; // t or T
    const e = this.expression();
    if (!this.eat('E')) this.fail();
    return nm(`decltype(${e})`);
  }

  /** A subset of <expression>: enough for common template arguments; others fail → raw name. */
  private expression(): string {
    this.enter();
    try {
      const c = this.peek();
      if (c === 'L') return this.exprPrimary();
      if (c === 'T') return printNode(this.templateParam());
      if (this.eat('fp')) {
        this.cvQualifiers();
        const n = this.peek() === '_' ? 1 : this.number() + 2;
        if (!this.eat('_')) this.fail();
        return n === 1 ? 'fp' : `fp${n - 2}`;
      }
      if (this.eat('sZ')) {
        const t = this.peek() === 'T' ? printNode(this.templateParam()) : this.expression();
        return `sizeof...(${t})`;
      }
      if (this.eat('sp')) return this.expression() + '...';
      if (this.eat('st')) return `sizeof (${printNode(this.type())})`;
      if (this.eat('sz')) return `sizeof (${this.expression()})`;
      if (this.eat('at')) return `alignof (${printNode(this.type())})`;
      if (this.eat('az')) return `alignof (${this.expression()})`;
      if (this.eat('tw')) return `throw ${this.expression()}`;
      if (this.eat('tr')) return 'throw';
      const global = this.eat('gs') ? '::' : '';
      if (this.eat('sr')) return global + this.unresolvedName();
      if (this.eat('cv')) {
        const t = printNode(this.type());
        if (this.eat('_')) {
          const args: string[] = [];
          while (!this.eat('E')) args.push(this.expression());
          return `(${t})(${args.join(', ')})`;
        }
        return `(${t})(${this.expression()})`;
      }
      if (this.eat('cl')) {
        const f = this.expression();
        const args: string[] = [];
        while (!this.eat('E')) {
          if (this.p >= this.s.length) this.fail();
          args.push(this.expression());
        }
        return `${f}(${args.join(', ')})`;
      }
      if (this.eat('dt')) {
        const a = this.expression();
        return `${a}.${printNode(this.unqualifiedName(undefined))}`;
      }
      if (this.eat('pt')) {
        const a = this.expression();
        return `${a}->${printNode(this.unqualifiedName(undefined))}`;
      }
      if (c >= '0' && c <= '9') {
        let n: Node = this.unqualifiedName(undefined);
        if (this.peek() === 'I') n = nm(printNode(n) + printTemplateArgs(this.templateArgs()));
        return printNode(n);
      }
      const two = this.s.slice(this.p, this.p + 2);
      const op = OPS[two];
      if (op) {
        this.p += 2;
        if (op[1] === 1) {
          if ((two === 'pp' || two === 'mm') && this.eat('_')) return `${this.expression()}${op[0]}`;
          return `${op[0]}(${this.expression()})`;
        }
        if (op[1] === 2) {
          const a = this.expression();
          const b = this.expression();
          if (two === 'ix') return `(${a})[${b}]`;
          return `(${a}) ${op[0]} (${b})`;
        }
        const a = this.expression();
        const b = this.expression();
        const d = this.expression();
        return `(${a}) ? (${b}) : (${d})`;
      }
      return this.fail();
    } finally {
      this.depth--;
    }
  }

  /** after `sr`: the forms of <unresolved-name> (qualifiers are not substitution candidates). */
  private unresolvedName(): string {
    if (this.eat('N')) {
      let so = this.unresolvedType();
      if (this.peek() === 'I') so += printTemplateArgs(this.templateArgs());
      while (!this.eat('E')) {
        if (this.p >= this.s.length) this.fail();
        so += '::' + this.simpleId();
      }
      return so + '::' + this.baseUnresolvedName();
    }
    if (this.peek() >= '0' && this.peek() <= '9') {
      const quals: string[] = [];
      do quals.push(this.simpleId());
      while (!this.eat('E'));
      return quals.join('::') + '::' + this.baseUnresolvedName();
    }
    let t = this.unresolvedType();
    if (this.peek() === 'I') t += printTemplateArgs(this.templateArgs());
    return t + '::' + this.baseUnresolvedName();
  }

  private unresolvedType(): string {
    const c = this.peek();
    if (c === 'T') {
      const n = this.templateParam();
      this.subs.push(n);
      return printNode(n);
    }
    if (c === 'D') {
      const n = this.decltype();
      this.subs.push(n);
      return printNode(n);
    }
    if (c === 'S') return printNode(this.substitution());
    return this.fail();
  }

  private simpleId(): string {
    let id = this.sourceName();
    if (this.peek() === 'I') id += printTemplateArgs(this.templateArgs());
    return id;
  }

  private baseUnresolvedName(): string {
    if (this.peek() >= '0' && this.peek() <= '9') return this.simpleId();
    if (this.eat('dn')) {
      if (this.peek() >= '0' && this.peek() <= '9') return '~' + this.simpleId();
      return '~' + this.unresolvedType();
    }
    this.eat('on');
    let n = printNode(this.operatorName());
    if (this.peek() === 'I') n += printTemplateArgs(this.templateArgs());
    return n;
  }

  /** <type> */
  type(): Node {
    this.enter();
    const saveFlag = this.inEncName;
    this.inEncName = false;
    try {
      const c = this.peek();
      const b = BUILTIN[c];
      if (b) {
        this.p++;
        return nm(b);
      }
      let result: Node;
      switch (c) {
        case 'D': {
          const d = this.peek(1);
          if (BUILTIN_D[d]) {
            this.p += 2;
            return nm(BUILTIN_D[d]);
          }
          if (d === 'F') {
            this.p += 2;
            const bits = this.number();
            this.eat('_');
            return nm(`_Float${bits}`);
          }
          if (d === 'p') {
            this.p += 2;
            const inner = this.type();
            result = containsPack(inner) ? { k: 'expand', inner } : inner;
            break;
          }
          if (d === 't' || d === 'T') {
            result = this.decltype();
            break;
          }
          if (d === 'x' || d === 'o' || d === 'O' || d === 'w') {
            // exception specs / transaction-safe on function types
            return this.functionType('');
          }
          if (d === 'v') {
            this.p += 2;
            const dim = this.peek() === '_' ? '' : String(this.number());
            if (!this.eat('_')) this.fail();
            const el = this.type();
            result = nm(`${printNode(el)} __vector(${dim})`);
            break;
          }
          return this.fail();
        }
        case 'r':
        case 'V':
        case 'K': {
          const q = this.cvQualifiers();
          if (this.peek() === 'F') {
            result = this.functionType(q);
            break;
          }
          const inner = this.type();
          result = inner.k === 'func' ? { ...inner, cv: inner.cv + q } : { k: 'cv', inner, q };
          break;
        }
        case 'F':
          result = this.functionType('');
          break;
        case 'A': {
          this.p++;
          let dim = '';
          if (this.peek() >= '0' && this.peek() <= '9') dim = String(this.number());
          else if (this.peek() !== '_') dim = this.expression();
          if (!this.eat('_')) this.fail();
          result = { k: 'array', elem: this.type(), dim };
          break;
        }
        case 'M': {
          this.p++;
          const cls = this.type();
          const mem = this.type();
          result = { k: 'memptr', cls, mem };
          break;
        }
        case 'T': {
          result = this.templateParam();
          if (this.peek() === 'I') {
            this.subs.push(result);
            const args = this.templateArgs();
            result = nm(printNode(result) + printTemplateArgs(args));
          }
          break;
        }
        case 'P':
          this.p++;
          result = mkRef(this.type(), '*');
          break;
        case 'R':
          this.p++;
          result = mkRef(this.type(), '&');
          break;
        case 'O':
          this.p++;
          result = mkRef(this.type(), '&&');
          break;
        case 'C':
          this.p++;
          result = nm(printNode(this.type()) + ' _Complex');
          break;
        case 'G':
          this.p++;
          result = nm(printNode(this.type()) + ' _Imaginary');
          break;
        case 'U': {
          this.p++;
          const q = this.sourceName();
          if (this.peek() === 'I') this.templateArgs();
          const inner = this.type();
          result = { k: 'vendor', inner, q };
          break;
        }
        case 'u':
          this.p++;
          return nm(this.sourceName());
        case 'S': {
          if (this.peek(1) !== 't') {
            const sub = this.substitution();
            if (this.peek() === 'I') {
              const args = this.templateArgs();
              const base = sub.k === 'name' ? sub.base : printNode(sub);
              result = mkName(printNode(sub) + printTemplateArgs(args), base);
              break;
            }
            return sub;
          }
          result = this.nameInfo().node;
          break;
        }
        default:
          if ((c >= '0' && c <= '9') || c === 'N' || c === 'Z') {
            result = this.nameInfo().node;
            break;
          }
          return this.fail();
      }
      // types built from a generic lambda's `auto` parameters are not substitution candidates
      if (!(this.inLambdaSig && mentionsAuto(result))) this.subs.push(result);
      return result;
    } finally {
      this.inEncName = saveFlag;
      this.depth--;
    }
  }

  private functionType(cvq: string): Node {
    // [Dx|Do|DO <expr> E|Dw <types> E] F [Y] <bare-function-type> [<ref-qualifier>] E
    if (this.eat('Dx') || this.eat('Do')) {
      /* noexcept: not printed */
    } else if (this.eat('DO')) {
      this.expression();
      if (!this.eat('E')) this.fail();
    } else if (this.eat('Dw')) {
      while (!this.eat('E')) this.type();
    }
    if (!this.eat('F')) this.fail();
    this.eat('Y');
    const ret = this.type();
    const params: Node[] = [];
    let ref = '';
    for (;;) {
      if (this.eat('E')) break;
      if (this.s.startsWith('RE', this.p)) {
        this.p += 2;
        ref = ' &';
        break;
      }
      if (this.s.startsWith('OE', this.p)) {
        this.p += 2;
        ref = ' &&';
        break;
      }
      if (this.p >= this.s.length) this.fail();
      params.push(this.type());
    }
    return { k: 'func', ret, params, cv: cvq, ref };
  }
}

function cloneSuffix(suffix: string): string | undefined {
  // ".cold", ".isra.0", ".constprop.0.isra.0", ".part.1", ".lto_priv.0", ".123"
  const parts = suffix.match(/\.[A-Za-z_][A-Za-z0-9_]*(?:\.[0-9]+)*|\.[0-9]+/g);
  if (!parts || parts.join('') !== suffix) return undefined;
  return parts.map((p) => ` [clone ${p}]`).join('');
}

export function demangleItanium(name: string): string | undefined {
  if (!name.startsWith('_Z')) return undefined;
  const p = new ItaniumParser(name.slice(2));
  const out = guard(p.encoding(true));
  const rest = name.slice(2 + p.pos);
  if (rest === '') return out;
  if (rest.startsWith('.')) {
    const c = cloneSuffix(rest);
    if (c !== undefined) return out + c;
  }
  return undefined;
}
