// The swipe between two runs' sample grids: the grids stacked, A left of a divider and B right of it; drag the
// divider (mouse, pen or touch) or move it with the arrow keys. Both grids follow the linked zoom, so the divider
// cuts the same cell of both.
import { h } from '../dom.js';
import type { LinkedZoom, ZoomViewOptions } from './linked-zoom.js';
import { linkZoomView } from './linked-zoom.js';

const KEY_STEP = 0.02;

export class SampleSwipe {
  readonly el: HTMLElement;
  private readonly imgA = h('img', { class: 'swipe-img', alt: '', draggable: 'false' });
  private readonly imgB = h('img', { class: 'swipe-img', alt: '', draggable: 'false' });
  private readonly layerA: HTMLElement;
  private readonly handle: HTMLElement;
  private readonly tagA = h('span', { class: 'swipe-tag swipe-tag-a' });
  private readonly tagB = h('span', { class: 'swipe-tag swipe-tag-b' });
  private position = 0.5;
  private readonly unlink: () => void;

  constructor(zoom: LinkedZoom, options: ZoomViewOptions) {
    this.layerA = h('div', { class: 'swipe-layer swipe-a' }, this.imgA);
    this.handle = h(
      'div',
      {
        class: 'swipe-handle',
        role: 'slider',
        tabindex: 0,
        'data-no-pan': true,
        'aria-label': 'Swipe divider: A on its left, B on its right',
        'aria-valuemin': 0,
        'aria-valuemax': 100,
      },
      h('span', { class: 'swipe-grip', 'aria-hidden': 'true' }, '⇔'),
    );
    const view = h(
      'div',
      { class: 'sample-view swipe-view' },
      h('div', { class: 'swipe-layer swipe-b' }, this.imgB),
      this.layerA,
      this.handle,
      this.tagA,
      this.tagB,
    );
    this.unlink = linkZoomView(view, zoom, [this.imgA, this.imgB], options);
    this.dragDivider(view);
    this.handle.addEventListener('keydown', (ev) => {
      const step = ev.shiftKey ? KEY_STEP * 5 : KEY_STEP;
      const next: Record<string, number> = {
        ArrowLeft: this.position - step,
        ArrowRight: this.position + step,
        Home: 0,
        End: 1,
      };
      if (!(ev.key in next)) return;
      ev.preventDefault();
      this.setPosition(next[ev.key]!);
    });
    this.el = h('div', { class: 'sample-swipe' }, view);
    this.setPosition(this.position);
  }

  get divider(): number {
    return this.position;
  }

  show(a: { src: string; alt: string; name: string }, b: { src: string; alt: string; name: string }): void {
    if (this.imgA.getAttribute('src') !== a.src) this.imgA.src = a.src;
    if (this.imgB.getAttribute('src') !== b.src) this.imgB.src = b.src;
    this.imgA.alt = `A: ${a.alt}`;
    this.imgB.alt = `B: ${b.alt}`;
    this.tagA.textContent = `A ${a.name}`;
    this.tagB.textContent = `B ${b.name}`;
  }

  /** Both images decoded (for tests and screenshots). */
  get loaded(): boolean {
    return [this.imgA, this.imgB].every((i) => i.complete && i.naturalWidth > 0);
  }

  setPosition(p: number): void {
    this.position = Math.min(1, Math.max(0, p));
    const pct = this.position * 100;
    this.layerA.style.clipPath = `inset(0 ${100 - pct}% 0 0)`;
    this.handle.style.left = `${pct}%`;
    this.handle.setAttribute('aria-valuenow', String(Math.round(pct)));
    this.handle.setAttribute('aria-valuetext', `${Math.round(pct)}% A`);
  }

  private dragDivider(view: HTMLElement): void {
    let pointer: number | null = null;
    const follow = (ev: PointerEvent): void => {
      const r = view.getBoundingClientRect();
      this.setPosition((ev.clientX - r.left) / r.width);
    };
    this.handle.addEventListener('pointerdown', (ev) => {
      if (ev.button !== 0) return;
      ev.preventDefault();
      pointer = ev.pointerId;
      this.handle.setPointerCapture(ev.pointerId);
      this.handle.focus();
    });
    this.handle.addEventListener('pointermove', (ev) => {
      if (ev.pointerId === pointer) follow(ev);
    });
    const end = (ev: PointerEvent): void => {
      if (ev.pointerId === pointer) pointer = null;
    };
    this.handle.addEventListener('pointerup', end);
    this.handle.addEventListener('pointercancel', end);
  }

  dispose(): void {
    this.unlink();
  }
}
