/** Limits shared by the demanglers: long or hostile names give up instead of running away. */

export const MAX_LEN = 4096;
export const MAX_DEPTH = 256;
/** substitutions can make the output grow exponentially: give up past this many characters */
export const MAX_OUT = 1 << 16;

export function guard(s: string): string {
  if (s.length > MAX_OUT) throw new Error('demangled name too long');
  return s;
}
