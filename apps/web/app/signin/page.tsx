import type { Metadata } from 'next';
import { SignIn } from '@/components/SignIn';

export const metadata: Metadata = { title: 'Sign in' };

/** Sign in (or switch from the viewer token to the operator token). */
export default function SignInPage() {
  return <SignIn reason="Sign in with a token of this console." />;
}
