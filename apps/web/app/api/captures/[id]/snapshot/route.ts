import { snapshotCapture } from '../../../../../server/api';
export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export async function POST(req: Request, ctx: { params: Promise<{ id: string }> }) {
  return snapshotCapture(req, (await ctx.params).id);
}
