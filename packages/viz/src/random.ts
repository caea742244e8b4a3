/**
 * mulberry32: a small, fast seeded PRNG (32-bit state) for reproducible synthetic data: the
 * simulated hosts of `bpfscope serve --simulate`, benchmark profiles and fuzz tests. Not for
 * anything that needs unpredictability.
 *
 * Returns a function giving the next number in [0, 1); the same seed gives the same sequence.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
