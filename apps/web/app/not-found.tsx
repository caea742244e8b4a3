import Link from 'next/link';

export default function NotFound() {
  return (
    <div className="stack-v">
      <h1>Not found</h1>
      <p>
        There is no such page or snapshot. It may have been deleted. See the <Link href="/snapshots">snapshot list</Link>.
      </p>
    </div>
  );
}
