import { removeCollector } from '../../../../server/api';
export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export async function DELETE(req: Request, ctx: { params: Promise<{ id: string }> }) {
  return removeCollector(req, (await ctx.params).id);
}
