import { setSnapshotPublic } from '../../../../../server/api';
export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export async function POST(req: Request, ctx: { params: Promise<{ id: string }> }) {
  return setSnapshotPublic(req, (await ctx.params).id, true);
}

export async function DELETE(req: Request, ctx: { params: Promise<{ id: string }> }) {
  return setSnapshotPublic(req, (await ctx.params).id, false);
}
