/**
 * `@bpfscope/viz/errors`: error classes recognised by name, not by class identity.
 *
 * A bundler may hold several copies of one module: Next.js gives each route bundle of the hub its
 * own copy of the server modules (and of viz, which it compiles like app code), while the hub's
 * long-lived objects (captures, collector connections, the snapshot store) live on globalThis and
 * were made by whichever copy ran first. An error thrown by one copy is then not an `instanceof`
 * another copy's class, and a check like `e instanceof HttpError` silently fails (a 400 answered
 * as 500).
 *
 * A BrandedError carries the brands of its class and of every branded class above it, under a
 * registered symbol (`Symbol.for`, the same in every copy). `instanceof` on a branded class, and
 * `isBrandedError(e, 'Name')`, compare brands, so every copy recognises every copy's errors.
 * A subclass names itself with `static readonly brand = 'Name'` (the brand is also its `name`).
 */

const BRANDS = Symbol.for('bpfscope.errorBrands');

/** The brands an error carries (its class's first), or undefined when it is not branded. */
function brandsOf(v: unknown): readonly string[] | undefined {
  if ((typeof v !== 'object' && typeof v !== 'function') || v === null) return undefined;
  const b = (v as { [BRANDS]?: unknown })[BRANDS];
  return Array.isArray(b) ? (b as readonly string[]) : undefined;
}

/** Whether `e` is an error of the branded class named `brand` (or of a subclass), from any copy of its module. */
export function isBrandedError(e: unknown, brand: string): e is BrandedError {
  return brandsOf(e)?.includes(brand) ?? false;
}

export class BrandedError extends Error {
  /** The name this class's errors are recognised by; every subclass sets its own. */
  static readonly brand: string = 'BrandedError';

  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    const brands: string[] = [];
    // the brands of the classes from the one constructed up to BrandedError (of this copy or another)
    for (let c: unknown = new.target; typeof c === 'function' && c !== Error; c = Object.getPrototypeOf(c)) {
      if (Object.hasOwn(c, 'brand')) brands.push(String((c as unknown as { brand: unknown }).brand));
    }
    Object.defineProperty(this, BRANDS, { value: Object.freeze(brands) });
    // not enumerable, as Error.prototype.name: the error's own data stays what its class adds
    Object.defineProperty(this, 'name', { value: brands[0] ?? 'BrandedError', writable: true, configurable: true });
  }

  /** `e instanceof SomeBrandedError` compares brands, so it holds across copies of the module. */
  static override [Symbol.hasInstance](v: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of instanceof (a subclass), not BrandedError
    return isBrandedError(v, (this as typeof BrandedError).brand);
  }
}
