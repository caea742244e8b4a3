import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { getSnapshotStore } from '@/server/snapshots';
import { SnapshotView } from '@/components/snapshots/SnapshotView';
import { SignIn } from '@/components/SignIn';
import { pageCanRead } from '@/server/page-access';
import type { SnapshotMeta } from '@/lib/api';

type Params = { params: Promise<{ id: string }> };

async function load(id: string): Promise<{ meta: SnapshotMeta | null; error: string | null }> {
  try {
    return { meta: (await getSnapshotStore().getMeta(id)) as SnapshotMeta | null, error: null };
  } catch (e) {
    return { meta: null, error: (e as Error).message };
  }
}

export async function generateMetadata({ params }: Params): Promise<Metadata> {
  const { id } = await params;
  if (!(await pageCanRead())) return { title: 'Sign in' };
  const { meta } = await load(id);
  return { title: meta ? meta.name : 'Snapshot not found' };
}

export default async function SnapshotPage({ params }: Params) {
  const { id } = await params;
  if (!(await pageCanRead())) return <SignIn />;
  const { meta, error } = await load(id);
  if (error) {
    return (
      <div className="error" role="alert">
        The snapshot store could not be read: {error}
      </div>
    );
  }
  if (!meta) notFound();
  return <SnapshotView id={id} meta={meta} />;
}
