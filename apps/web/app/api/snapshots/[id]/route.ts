import { deleteSnapshot, getSnapshot } from '../../../../server/api';
export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export async function GET(req: Request, ctx: { params: Promise<{ id: string }> }) {
  return getSnapshot(req, (await ctx.params).id);
}

export async function DELETE(req: Request, ctx: { params: Promise<{ id: string }> }) {
  return deleteSnapshot(req, (await ctx.params).id);
}
