/** The compact bpfscope JSON format (see model/codec.ts). */
export { encodeProfile as toBpfscope, encodeProfileObject as toBpfscopeObject } from '../model/codec.js';
