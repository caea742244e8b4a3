import Link from 'next/link';
import type { Metadata, Viewport } from 'next';
import { connection } from 'next/server';
import './globals.css';

export const metadata: Metadata = {
  title: { default: 'bpfscope', template: '%s · bpfscope' },
  description: 'Live BPF flame graphs, off-CPU and wakeup analysis, block I/O latency heat maps.',
};

export const viewport: Viewport = {
  colorScheme: 'light dark',
};

export default async function RootLayout({ children }: { children: React.ReactNode }) {
  // Render per request: proxy.ts issues a fresh CSP nonce that Next puts on its own scripts,
  // which only works for dynamically rendered pages.
  await connection();
  return (
    <html lang="en">
      <body>
        <header className="topbar">
          <Link href="/" className="brand" aria-label="bpfscope console">
            <span className="brand-mark" aria-hidden="true">
              ▲
            </span>{' '}
            bpfscope
          </Link>
          <nav className="topnav" aria-label="Main">
            <Link href="/">Console</Link>
            <Link href="/snapshots">Snapshots</Link>
          </nav>
          <span className="topbar-help" title="Keyboard: / search · Esc reset zoom · r reset view">
            <kbd>/</kbd> search · <kbd>Esc</kbd> unzoom · <kbd>r</kbd> reset
          </span>
        </header>
        <main className="main">{children}</main>
      </body>
    </html>
  );
}
