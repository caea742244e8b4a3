/** Reading rights of the request rendering a server page (same rule as the REST API's reads). */
import { headers } from 'next/headers';
import { canRead } from './http';

export async function pageCanRead(): Promise<boolean> {
  return canRead({ headers: await headers() });
}
