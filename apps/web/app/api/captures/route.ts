import { createCapture, listCaptures } from '../../../server/api';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export function GET(req: Request) {
  return listCaptures(req);
}

export function POST(req: Request) {
  return createCapture(req);
}
