/**
 * The search box takes a regular expression (like flamegraph.pl); text that is not a valid
 * regular expression is searched literally. Lower-case text matches case-insensitively.
 */
export function searchRegex(q: string): RegExp | null {
  if (!q) return null;
  const flags = q === q.toLowerCase() ? 'i' : '';
  try {
    return new RegExp(q, flags);
  } catch {
    return new RegExp(escapeRegex(q), flags);
  }
}

export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
