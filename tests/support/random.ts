/**
 * The seeded PRNG for the tests of packages/bpf. Its one implementation is viz's mulberry32
 * (packages/viz/src/random.ts: the product uses it for simulated hosts); packages/bpf may not
 * import viz (docs/ARCHITECTURE.md, enforced by lint), so its tests take it from here.
 */
export { mulberry32 } from '../../packages/viz/src/random.js';
