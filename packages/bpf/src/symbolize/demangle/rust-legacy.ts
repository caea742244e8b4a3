/** Rust legacy mangling: `_ZN <len><ident>... 17h<16 hex> E [.suffix]` (Itanium-shaped, with a hash). */

const RUST_ESCAPES: Record<string, string> = {
  SP: '@',
  BP: '*',
  RF: '&',
  LT: '<',
  GT: '>',
  LP: '(',
  RP: ')',
  C: ',',
};

const RUST_LEGACY_TAIL = /17h[0-9a-f]{16}E(?:\.|$)/;

export function demangleRustLegacy(name: string): string | undefined {
  if (!name.startsWith('_ZN') || !RUST_LEGACY_TAIL.test(name)) return undefined;
  let s = name;
  let suffix = '';
  const end = s.lastIndexOf('E');
  if (end < 0) return undefined;
  if (end !== s.length - 1) {
    suffix = s.slice(end + 1);
    if (!suffix.startsWith('.')) return undefined;
    if (suffix.startsWith('.llvm.')) suffix = '';
    s = s.slice(0, end + 1);
  }
  let p = 3;
  const parts: string[] = [];
  while (p < s.length - 1) {
    let q = p;
    while (q < s.length && s.charCodeAt(q) >= 48 && s.charCodeAt(q) <= 57) q++;
    if (q === p) return undefined;
    const len = Number(s.slice(p, q));
    if (!(len > 0) || q + len > s.length - 1) return undefined;
    parts.push(s.slice(q, q + len));
    p = q + len;
  }
  if (p !== s.length - 1 || parts.length < 2) return undefined;
  const hash = parts[parts.length - 1];
  if (!/^h[0-9a-f]{16}$/.test(hash)) return undefined;
  const out: string[] = [];
  for (let i = 0; i < parts.length - 1; i++) {
    let id = parts[i];
    if (id.startsWith('_$')) id = id.slice(1);
    let r = '';
    let k = 0;
    while (k < id.length) {
      const ch = id[k];
      if (ch === '$') {
        const e = id.indexOf('$', k + 1);
        if (e < 0) return undefined;
        const code = id.slice(k + 1, e);
        if (RUST_ESCAPES[code] !== undefined) r += RUST_ESCAPES[code];
        else if (/^u[0-9a-f]{1,6}$/.test(code)) {
          const cp = parseInt(code.slice(1), 16);
          if (cp > 0x10ffff || cp < 0x20) return undefined;
          r += String.fromCodePoint(cp);
        } else return undefined;
        k = e + 1;
      } else if (ch === '.' && id[k + 1] === '.') {
        r += '::';
        k += 2;
      } else {
        r += ch;
        k++;
      }
    }
    out.push(r);
  }
  return out.join('::') + suffix;
}
