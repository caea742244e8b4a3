import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A URL-safe, unguessable id: `len` base62 characters from crypto (rejection sampling, no bias). */
export function newId(len = 10): string {
  let out = '';
  while (out.length < len) {
    const buf = randomBytes(len * 2);
    for (const b of buf) {
      if (b < 248 && out.length < len) out += ALPHABET[b % 62]; // 248 = 62*4: unbiased
    }
  }
  return out;
}

export const ID_PATTERN = /^[0-9A-Za-z]{6,32}$/;

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}
