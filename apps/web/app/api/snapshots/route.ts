import { listSnapshots, uploadSnapshot } from '../../../server/api';
export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export function GET(req: Request) {
  return listSnapshots(req);
}

export function POST(req: Request) {
  return uploadSnapshot(req);
}
