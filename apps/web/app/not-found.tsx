
export default function NotFound() {
  return (
    <div className="stack-v">
      <h1>Not found</h1>
      <p>
        There is no such page or snapshot. It may have been deleted. See the <a href="/snapshots">snapshot list</a>.
      </p>
    </div>
  );
}
