/**
 * `@bpfscope/viz/config`: what the collector's and the hub's configuration share (both read flags
 * and BPFSCOPE_* variables; viz is the one package both import).
 */

import { BrandedError } from './errors.js';

/** A bad setting: the message names the flag or variable, what was wrong and what is expected. */
export class ConfigError extends BrandedError {
  static override readonly brand = 'ConfigError';
}

/** True for 127.0.0.0/8, ::1 and localhost: the only places a service may listen without a token. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::ffff:127.0.0.1';
}
