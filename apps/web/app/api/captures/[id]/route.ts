import { cancelCapture, getCapture } from '../../../../server/api';
export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export async function GET(req: Request, ctx: { params: Promise<{ id: string }> }) {
  return getCapture(req, (await ctx.params).id);
}

export async function DELETE(req: Request, ctx: { params: Promise<{ id: string }> }) {
  return cancelCapture(req, (await ctx.params).id);
}
