'use client';
/**
 * Sign-in form for a console that listens beyond loopback: the viewer token (browse, export) or
 * the operator token (also capture, import, delete, share) becomes an HttpOnly cookie.
 */
import { useState } from 'react';
import { api } from '../lib/api';

export function SignIn({ reason }: { reason?: string }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      className="card stack-v"
      style={{ maxWidth: 520 }}
      data-testid="signin"
      onSubmit={(e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        api
          .signIn(token.trim())
          .then(() => window.location.reload())
          .catch((err: Error) => {
            setError(err.message);
            setBusy(false);
          });
      }}
    >
      <h1>Sign in</h1>
      <p className="muted small">
        {reason ?? 'This console is reachable from other hosts, so it needs a token.'} Use the viewer token (BPFSCOPE_VIEW_TOKEN) to browse and export, or the
        operator token (BPFSCOPE_WEB_TOKEN) to also capture, import, delete and share.
      </p>
      <label className="stack-v">
        <span>Token</span>
        <input type="password" autoComplete="current-password" value={token} onChange={(e) => setToken(e.target.value)} data-testid="signin-token" required />
      </label>
      <div>
        <button type="submit" className="btn primary" disabled={busy || !token.trim()} data-testid="signin-submit">
          Sign in
        </button>
      </div>
      {error && (
        <div className="error" role="alert" data-testid="signin-error">
          {error}
        </div>
      )}
    </form>
  );
}
