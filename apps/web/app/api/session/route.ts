import { createSession, deleteSession, getSession } from '../../../server/api';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export function GET(req: Request) {
  return getSession(req);
}

export function POST(req: Request) {
  return createSession(req);
}

export function DELETE(req: Request) {
  return deleteSession(req);
}
