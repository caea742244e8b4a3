import { collectorProcesses } from '../../../../../server/api';
export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export async function GET(req: Request, ctx: { params: Promise<{ id: string }> }) {
  return collectorProcesses(req, (await ctx.params).id);
}
