/**
 * Demangling of C++ (Itanium ABI `_Z…`) and Rust (legacy `_ZN…17h<hash>E` and v0 `_R…`) symbol
 * names, in plain TypeScript, one scheme per file. Output follows c++filt / bcc for C++
 * (`[clone .cold]` for clone suffixes) and rustc-demangle's alternate form for Rust (no hash, no
 * crate disambiguator). Anything that does not parse is returned unchanged: demangling never throws.
 */
import { MAX_LEN } from './common.js';
import { demangleItanium } from './itanium.js';
import { demangleRustLegacy } from './rust-legacy.js';
import { demangleRustV0 } from './rust-v0.js';

export { demangleItanium, demangleRustLegacy, demangleRustV0 };

/** Demangle a C++ or Rust symbol name; returns the input unchanged when it is not mangled or fails. */
export function demangle(name: string): string {
  if (name.length < 3 || name.length > MAX_LEN) return name;
  try {
    if (name.startsWith('_R')) return demangleRustV0(name) ?? name;
    if (name.startsWith('_Z')) {
      const r = demangleRustLegacy(name);
      if (r !== undefined) return r;
      return demangleItanium(name) ?? name;
    }
  } catch {
    return name;
  }
  return name;
}
