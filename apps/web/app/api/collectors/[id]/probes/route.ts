import { collectorProbes } from '../../../../../server/api';
export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export async function GET(req: Request, ctx: { params: Promise<{ id: string }> }) {
  return collectorProbes(req, (await ctx.params).id);
}
