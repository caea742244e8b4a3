'use client';
/**
 * Public link for a snapshot: the operator makes it public (an unguessable /p/<token> link anyone
 * can open without a token) or private again (the link stops working).
 */
import { useEffect, useState } from 'react';
import { api } from '../../lib/api';

export function ShareButton({ id, initialToken }: { id: string; initialToken: string | null }) {
  const [token, setToken] = useState<string | null>(initialToken);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // the absolute link needs the browser's origin: set after hydration so server and client render alike
  const [origin, setOrigin] = useState('');
  useEffect(() => setOrigin(window.location.origin), []);
  const set = (on: boolean) => {
    setBusy(true);
    setError(null);
    api
      .setPublic(id, on)
      .then((r) => setToken(r.token ?? null))
      .catch((e: Error) => setError(e.message))
      .finally(() => setBusy(false));
  };
  const link = token ? `${origin}/p/${token}` : '';
  return (
    <div className="row" style={{ gap: 6 }}>
      {token ? (
        <>
          <span className="small muted">Public link:</span>
          <input
            className="mono small"
            readOnly
            value={link}
            size={36}
            data-testid="public-link"
            aria-label="Public link"
            onFocus={(e) => e.currentTarget.select()}
          />
          <button type="button" className="btn small" disabled={busy} onClick={() => set(false)} data-testid="make-private">
            Make private
          </button>
        </>
      ) : (
        <button
          type="button"
          className="btn small"
          disabled={busy}
          onClick={() => set(true)}
          data-testid="make-public"
          title="Anyone with the link can view and export this snapshot"
        >
          Share public link
        </button>
      )}
      {error && (
        <span className="error small" role="alert" data-testid="share-error">
          {error}
        </span>
      )}
    </div>
  );
}
