/**
 * BrandedError: errors recognised by brand across copies of their module (what Next's route bundles
 * hold). Two copies are two imports of the same file under different URLs: distinct classes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

type ErrorsModule = typeof import('../src/errors.js');

async function copyOfErrors(tag: string): Promise<ErrorsModule> {
  return (await import(`../src/errors.js?copy=${tag}-${process.hrtime.bigint()}`)) as ErrorsModule;
}

test('a branded error of one copy is an instance of the same-named class of another copy, and of nothing else', async () => {
  const one = await copyOfErrors('one');
  const two = await copyOfErrors('two');
  assert.notEqual(one.BrandedError, two.BrandedError, 'two module instances');
  class NotFound1 extends one.BrandedError {
    static override readonly brand = 'NotFound';
    constructor(readonly what: string) {
      super(`no ${what}`);
    }
  }
  class NotFound2 extends two.BrandedError {
    static override readonly brand = 'NotFound';
  }
  class Gone2 extends two.BrandedError {
    static override readonly brand = 'Gone';
  }
  const e = new NotFound1('snapshot');
  assert.equal(e.name, 'NotFound');
  assert.equal(e.message, 'no snapshot');
  assert.equal(e.what, 'snapshot');
  assert.ok(e instanceof Error);
  assert.ok(e instanceof NotFound2, 'recognised by the other copy');
  assert.ok(e instanceof two.BrandedError);
  assert.ok(new NotFound2('x') instanceof NotFound1);
  assert.ok(!(e instanceof Gone2), 'another brand');
  assert.ok(!(new Error('plain') instanceof NotFound2));
  assert.ok(!(new Error('plain') instanceof two.BrandedError));
  for (const v of [null, undefined, 'NotFound', 3, { name: 'NotFound' }]) assert.equal(v instanceof NotFound1, false);
  assert.ok(two.isBrandedError(e, 'NotFound'));
  assert.ok(!two.isBrandedError(e, 'Gone'));
  assert.ok(!two.isBrandedError(new Error('plain'), 'Error'));
  assert.ok(!two.isBrandedError({ name: 'NotFound' }, 'NotFound'), 'a look-alike without the brand');
  // the brand is not data: JSON and the enumerable keys do not show it
  assert.deepEqual(Object.keys(e), ['what']);
  assert.equal(JSON.stringify(e), '{"what":"snapshot"}');
});

test('a subclass carries its brand and its parents', async () => {
  const { BrandedError, isBrandedError } = await copyOfErrors('sub');
  class Http extends BrandedError {
    static override readonly brand: string = 'Http';
  }
  class BadRequest extends Http {
    static override readonly brand = 'BadRequest';
  }
  class Unnamed extends BadRequest {}
  const e = new BadRequest('bad');
  assert.ok(e instanceof Http && e instanceof BadRequest);
  assert.ok(!(new Http('x') instanceof BadRequest));
  assert.equal(e.name, 'BadRequest');
  assert.ok(isBrandedError(e, 'Http'));
  assert.ok(isBrandedError(e, 'BrandedError'));
  const u = new Unnamed('u');
  assert.equal(u.name, 'BadRequest', 'a subclass without a brand of its own is known by its parent');
  assert.ok(u instanceof BadRequest);
});

test('ConfigError is branded: another copy of @bpfscope/viz/config recognises it', async () => {
  const one = await import('@bpfscope/viz/config');
  const url = import.meta.resolve('@bpfscope/viz/config');
  const two = (await import(`${url}?copy=${process.hrtime.bigint()}`)) as typeof one;
  assert.notEqual(one.ConfigError, two.ConfigError);
  const e = new two.ConfigError('BPFSCOPE_X must be a number');
  assert.ok(e instanceof one.ConfigError);
  assert.equal(e.name, 'ConfigError');
});
