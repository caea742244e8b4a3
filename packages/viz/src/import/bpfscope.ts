/** The compact bpfscope JSON format (see model/codec.ts); decode errors become ImportError. */
import type { Profile } from '../model/types.js';
import { CodecError, decodeProfile } from '../model/codec.js';
import { ImportError } from './errors.js';

export function importBpfscope(text: string): Profile {
  try {
    return decodeProfile(text);
  } catch (e) {
    if (e instanceof CodecError) throw new ImportError('bpfscope', e.message.replace(/^bpfscope JSON: /, ''));
    throw e;
  }
}
