import { createCapture } from '../../../server/api';
export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export function POST(req: Request) {
  return createCapture(req);
}
