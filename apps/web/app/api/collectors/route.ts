import { listCollectors } from '../../../server/api';
export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export function GET(req: Request) {
  return listCollectors(req);
}
