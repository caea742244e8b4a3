import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfError } from '@bpfscope/bpf';
import { isPermissionError } from '../src/engine.js';

test('a verifier rejection (EACCES with a verifier log) is not reported as missing privileges', () => {
  const rejected = Object.assign(Object.create(BpfError.prototype), {
    errno: 13,
    code: 'EACCES',
    verifierLog: 'R1 invalid mem access',
    message: 'load failed',
  });
  assert.equal(isPermissionError(rejected), false);
  const denied = Object.assign(Object.create(BpfError.prototype), { errno: 1, code: 'EPERM', message: 'needs root' });
  assert.equal(isPermissionError(denied), true);
  // plain errors from node:fs and friends still count by errno/code
  assert.equal(isPermissionError(Object.assign(new Error('x'), { code: 'EACCES' })), true);
  assert.equal(isPermissionError(new Error('other')), false);
});
