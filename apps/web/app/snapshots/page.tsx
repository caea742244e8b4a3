import type { Metadata } from 'next';
import { getSnapshotStore } from '@/server/snapshots';
import { SnapshotList } from '@/components/snapshots/SnapshotList';
import { SignIn } from '@/components/SignIn';
import { pageCanRead } from '@/server/page-access';
import type { SnapshotSummary } from '@/lib/api';

export const metadata: Metadata = { title: 'Snapshots' };

export default async function SnapshotsPage() {
  if (!(await pageCanRead())) return <SignIn />;
  let initial: SnapshotSummary[] | undefined;
  let initialError: string | undefined;
  try {
    initial = (await getSnapshotStore().list()) as SnapshotSummary[];
  } catch (e) {
    initialError = `The snapshot store could not be read: ${(e as Error).message}`;
  }
  return (
    <div>
      <h1>Snapshots</h1>
      <SnapshotList initial={initial} initialError={initialError} />
    </div>
  );
}
