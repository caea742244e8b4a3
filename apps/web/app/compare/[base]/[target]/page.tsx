import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { getSnapshotStore } from '@/server/snapshots';
import { CompareView } from '@/components/compare/CompareView';
import { SignIn } from '@/components/SignIn';
import { pageCanRead } from '@/server/page-access';
import type { SnapshotMeta } from '@/lib/api';

type Params = { params: Promise<{ base: string; target: string }>; searchParams: Promise<Record<string, string | string[] | undefined>> };

export const metadata: Metadata = { title: 'Compare' };

export default async function ComparePage({ params, searchParams }: Params) {
  const { base, target } = await params;
  const sp = await searchParams;
  const host = typeof sp.host === 'string' ? sp.host : undefined;
  const vs = typeof sp.vs === 'string' ? sp.vs : undefined;
  if (!(await pageCanRead())) return <SignIn />;
  let b: SnapshotMeta | null;
  let t: SnapshotMeta | null;
  try {
    const store = getSnapshotStore();
    b = (await store.getMeta(base)) as SnapshotMeta | null;
    t = (await store.getMeta(target)) as SnapshotMeta | null;
  } catch (e) {
    return (
      <div className="error" role="alert">
        The snapshot store could not be read: {(e as Error).message}
      </div>
    );
  }
  if (!b && !t) notFound();
  if (!b || !t) {
    return (
      <div className="stack-v">
        <h1>Compare</h1>
        <div className="error" role="alert">
          Snapshot {!b ? base : target} does not exist (it may have been deleted). Pick another one from the snapshot list.
        </div>
      </div>
    );
  }
  return <CompareView baseId={base} targetId={target} baseMeta={b} targetMeta={t} host={host} vs={vs} />;
}
