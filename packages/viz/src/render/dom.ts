/**
 * Small DOM helpers shared by the renderers. Every string that may come from a traced process is
 * set with textContent or as an attribute value, never parsed as HTML.
 */

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  style: Partial<CSSStyleDeclaration> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  Object.assign(e.style, style);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** The common style of the renderers' tooltips: a floating box, hidden until hover, never in the way of the mouse. */
export const TOOLTIP_STYLE: Readonly<Partial<CSSStyleDeclaration>> = {
  position: 'absolute',
  display: 'none',
  pointerEvents: 'none',
  background: 'rgba(255,255,255,0.96)',
  border: '1px solid #999',
  borderRadius: '3px',
};

export function checkContainer(container: unknown, fn: string): HTMLElement {
  if (!container || typeof (container as HTMLElement).appendChild !== 'function' || !(container as HTMLElement).ownerDocument) {
    throw new TypeError(`${fn}: container must be a DOM element (e.g. a div ref from React), got ${container === null ? 'null' : typeof container}`);
  }
  return container as HTMLElement;
}

/** Size a canvas for the device pixel ratio; returns its 2D context scaled to CSS pixels. */
export function sizeCanvas(canvas: HTMLCanvasElement, w: number, h: number): CanvasRenderingContext2D {
  const dpr = (typeof window !== 'undefined' && window.devicePixelRatio) || 1;
  const pw = Math.max(1, Math.round(w * dpr));
  const ph = Math.max(1, Math.round(h * dpr));
  if (canvas.width !== pw) canvas.width = pw;
  if (canvas.height !== ph) canvas.height = ph;
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('canvas 2D context is not available in this browser');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

export type Listener<T> = (v: T) => void;

export class Emitter<E extends Record<string, unknown>> {
  private m = new Map<keyof E, Set<Listener<never>>>();
  on<K extends keyof E>(ev: K, cb: Listener<E[K]>): () => void {
    let s = this.m.get(ev);
    if (!s) this.m.set(ev, (s = new Set()));
    s.add(cb as Listener<never>);
    return () => s!.delete(cb as Listener<never>);
  }
  emit<K extends keyof E>(ev: K, v: E[K]): void {
    const s = this.m.get(ev);
    if (!s) return;
    for (const cb of s) {
      try {
        (cb as Listener<E[K]>)(v);
      } catch (err) {
        // a listener's bug must not break drawing
        console.error(err);
      }
    }
  }
  clear(): void {
    this.m.clear();
  }
}
