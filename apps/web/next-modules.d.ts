/**
 * tsconfig uses NodeNext resolution (the project's convention, and what makes Turbopack map
 * `./x.js` imports to `./x.ts`). The `next` package has no "exports" map, so NodeNext only finds
 * its subpath types with an explicit `.js`; these declarations let the canonical specifiers
 * (`next/navigation`, …) type-check. At run time the bundler resolves them as usual.
 * (next/link's default export is not usable from ESM under NodeNext: pages use plain <a>.)
 */
declare module 'next/navigation' {
  export * from 'next/navigation.js';
}
declare module 'next/server' {
  export * from 'next/server.js';
}
declare module 'next/headers' {
  export * from 'next/headers.js';
}
