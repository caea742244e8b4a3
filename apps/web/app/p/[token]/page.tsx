import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { getSnapshotStore } from '@/server/snapshots';
import { SnapshotView } from '@/components/snapshots/SnapshotView';
import type { SnapshotMeta } from '@/lib/api';

type Params = { params: Promise<{ token: string }> };

/** A public link: no token needed; only this one snapshot, through /api/public/<token>. */
async function load(token: string): Promise<SnapshotMeta | null> {
  const store = getSnapshotStore();
  const id = await store.findPublic(token);
  return id ? ((await store.getMeta(id)) as SnapshotMeta | null) : null;
}

export async function generateMetadata({ params }: Params): Promise<Metadata> {
  const meta = await load((await params).token).catch(() => null);
  return { title: meta ? meta.name : 'Snapshot not found', referrer: 'no-referrer' };
}

export default async function PublicSnapshotPage({ params }: Params) {
  const { token } = await params;
  let meta: SnapshotMeta | null;
  try {
    meta = await load(token);
  } catch (e) {
    return (
      <div className="error" role="alert">
        The snapshot store could not be read: {(e as Error).message}
      </div>
    );
  }
  if (!meta) notFound();
  return <SnapshotView id={meta.id} meta={meta} publicToken={token} />;
}
