import { getPublicSnapshot } from '../../../../server/api';
export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export async function GET(req: Request, ctx: { params: Promise<{ token: string }> }) {
  return getPublicSnapshot(req, (await ctx.params).token);
}
