import type { NextConfig } from 'next';

/**
 * Security headers for every response. The Content-Security-Policy itself is set per request by
 * proxy.ts (it carries a fresh nonce for Next's inline bootstrap scripts); the static headers
 * live here so they also cover API routes and static files.
 */
const securityHeaders = [
  { key: 'X-Content-Type-Options', value: 'nosniff' },
  { key: 'Referrer-Policy', value: 'same-origin' },
  { key: 'X-Frame-Options', value: 'DENY' },
  { key: 'Cross-Origin-Opener-Policy', value: 'same-origin' },
  { key: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=(), payment=()' },
];

const nextConfig: NextConfig = {
  // Node-only modules used by the hub's server code; never bundled.
  serverExternalPackages: ['better-sqlite3', 'ws', 'pino'],
  // BPFSCOPE_NEXT_DIST_DIR lets a second build/start live beside the default .next (parallel
  // test runs in one checkout); unset, Next's default is used.
  ...(process.env.BPFSCOPE_NEXT_DIST_DIR ? { distDir: process.env.BPFSCOPE_NEXT_DIST_DIR } : {}),
  // No on-the-fly gzip: snapshot JSON for a 200k-stack profile is ~24 MB, and gzipping it costs
  // ~8 s of CPU here (measured: 6.5 s identity vs 13.7 s gzip to the last byte on loopback) —
  // far more than sending it raw on loopback or a LAN. Put a compressing proxy in front for WANs.
  compress: false,
  poweredByHeader: false,
  reactStrictMode: true,
  // The viz package is ESM with d3 inside; let Next compile it like app code.
  transpilePackages: ['@bpfscope/viz'],
  async headers() {
    return [{ source: '/:path*', headers: securityHeaders }];
  },
};

export default nextConfig;
