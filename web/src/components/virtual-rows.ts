// A virtualised table body: of a long list of rows, only those in (or near) the scroll box's view are in the DOM, with a
// spacer row above and below standing for the rest, so a table of thousands of runs is drawn and scrolled in the time
// of a few dozen. Rows have one fixed height (the table's CSS keeps cells to one line), measured from the rows drawn.
import { h } from '../dom.js';

/** Rows kept in the DOM beyond each edge of the view: Tab and short scrolls reach rows already there. */
const MARGIN_ROWS = 20;
/**
 * The margin until the first rows are painted: a row costs time to make and to lay out, and the first paint needs
 * only those in view; the margin grows to MARGIN_ROWS right after it.
 */
const FIRST_MARGIN_ROWS = 2;
/** Rows drawn to measure the row height (the first is half a collapsed border shorter, so three). */
const MEASURE_ROWS = 3;

export interface VirtualRowsSource<T> {
  key(item: T): string;
  /** A new row element for an item entering the window. */
  create(item: T): HTMLTableRowElement;
  /** The row of this key left the window (its element is gone from the DOM). */
  release(key: string): void;
  /** How many cells a row spans (for the spacers' one cell). */
  columns(): number;
}

export class VirtualRows<T> {
  private items: readonly T[] = [];
  private readonly mounted = new Map<string, HTMLTableRowElement>();
  private rowHeight = 0;
  private margin = FIRST_MARGIN_ROWS;
  private frame = 0;
  /** Spacer rows, reused in order: above the window, below it, and around a focused row kept outside it. */
  private readonly spacers: HTMLTableRowElement[] = [];
  private readonly onScroll = (): void => this.drawSoon();
  private readonly onResize = (): void => {
    this.rowHeight = 0;
    this.drawSoon();
  };

  constructor(
    private readonly scroller: HTMLElement,
    private readonly tbody: HTMLTableSectionElement,
    private readonly source: VirtualRowsSource<T>,
  ) {
    scroller.addEventListener('scroll', this.onScroll, { passive: true });
    window.addEventListener('resize', this.onResize);
  }

  /** The rows in order (after a sort, a filter, new runs): the window is drawn again now. */
  setItems(items: readonly T[]): void {
    this.items = items;
    this.draw();
  }

  /** Every row is made again (the columns changed). */
  reset(): void {
    for (const key of this.mounted.keys()) this.source.release(key);
    this.mounted.clear();
    this.tbody.replaceChildren();
    this.rowHeight = 0;
  }

  /** The index range of the items in the DOM (for the tests and the benchmark). */
  window(): { from: number; to: number } {
    return this.range();
  }

  dispose(): void {
    cancelAnimationFrame(this.frame);
    this.scroller.removeEventListener('scroll', this.onScroll);
    window.removeEventListener('resize', this.onResize);
  }

  private drawSoon(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  /** The items to have in the DOM: those in view, MARGIN_ROWS either side. */
  private range(): { from: number; to: number } {
    const n = this.items.length;
    if (!this.rowHeight) return { from: 0, to: Math.min(n, MEASURE_ROWS) };
    // Where the body starts in the scroll box's content: the header's height (the spacer sits right under it).
    const head = this.tbody.offsetTop;
    const view = Math.max(this.scroller.clientHeight, window.innerHeight);
    const top = this.scroller.scrollTop - head;
    const from = Math.max(0, Math.floor(top / this.rowHeight) - this.margin);
    const to = Math.min(n, Math.ceil((top + view) / this.rowHeight) + this.margin);
    return { from: Math.min(from, to), to };
  }

  private draw(): void {
    const { from, to } = this.range();
    const indices: number[] = [];
    for (let i = from; i < to; i++) indices.push(i);
    // The row holding the keyboard focus stays mounted where it belongs however far the view scrolls from it, so the
    // focus is not lost with it (Tab and Shift+Tab then continue from there).
    const focused = this.focusedIndex();
    if (focused !== null && (focused < from || focused >= to)) {
      indices.push(focused);
      indices.sort((a, b) => a - b);
    }
    const want = new Map<string, T>();
    for (const i of indices) want.set(this.source.key(this.items[i]!), this.items[i]!);
    for (const [key, tr] of this.mounted)
      if (!want.has(key)) {
        tr.remove();
        this.mounted.delete(key);
        this.source.release(key);
      }
    this.place(this.layout(indices));
    if (!this.rowHeight && this.measure()) {
      this.draw();
      if (this.margin < MARGIN_ROWS) this.widenAfterPaint();
    }
  }

  /** Grows the margin once the first rows are on screen (the frame after the next has painted them). */
  private widenAfterPaint(): void {
    requestAnimationFrame(() =>
      setTimeout(() => {
        this.margin = MARGIN_ROWS;
        this.drawSoon();
      }),
    );
  }

  /** The index of the item whose row holds the focus, if one does and it is still listed. */
  private focusedIndex(): number | null {
    const active = document.activeElement;
    if (!active || !this.tbody.contains(active)) return null;
    for (const [key, tr] of this.mounted) {
      if (!tr.contains(active)) continue;
      const i = this.items.findIndex((item) => this.source.key(item) === key);
      return i < 0 ? null : i;
    }
    return null;
  }

  /** The body's rows in order for these item indices (ascending), with a spacer for every gap between them. */
  private layout(indices: readonly number[]): HTMLTableRowElement[] {
    const nodes: HTMLTableRowElement[] = [];
    let next = 0;
    let spacers = 0;
    const gap = (rows: number): void => {
      const px = rows * this.rowHeight;
      if (px <= 0) return;
      const spacer = (this.spacers[spacers++] ??= newSpacer());
      const cell = spacer.firstElementChild as HTMLTableCellElement;
      cell.colSpan = this.source.columns();
      cell.style.height = `${px}px`;
      nodes.push(spacer);
    };
    for (const i of indices) {
      gap(i - next);
      const key = this.source.key(this.items[i]!);
      let tr = this.mounted.get(key);
      if (!tr) this.mounted.set(key, (tr = this.source.create(this.items[i]!)));
      nodes.push(tr);
      next = i + 1;
    }
    gap(this.items.length - next);
    return nodes;
  }

  /**
   * Makes the body hold exactly `nodes`, in order. Rows already in place stay put and the others are inserted before
   * them, so the focused row is not moved (moving it would drop its focus); should a reorder move it, focus goes back.
   */
  private place(nodes: readonly HTMLTableRowElement[]): void {
    const active = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const wanted = new Set<Node>(nodes);
    for (const child of Array.from(this.tbody.children)) if (!wanted.has(child)) child.remove();
    let ref: ChildNode | null = this.tbody.firstChild;
    for (const node of nodes) {
      if (node === ref) ref = ref.nextSibling;
      else this.tbody.insertBefore(node, ref);
    }
    if (active?.isConnected && document.activeElement !== active) active.focus({ preventScroll: true });
  }

  /**
   * The row height: the distance between rows drawn one under the other (margins and borders included), averaged from
   * the second row on (with collapsed borders the first row is half a border shorter).
   */
  private measure(): boolean {
    const rows = Array.from(this.tbody.rows).filter((tr) => !tr.classList.contains('virtual-spacer'));
    if (rows.length < 2) return false;
    const from = rows.length > 2 ? 1 : 0;
    const top = (i: number): number => rows[i]!.getBoundingClientRect().top;
    const height = (top(rows.length - 1) - top(from)) / (rows.length - 1 - from);
    if (!(height > 0)) return false;
    this.rowHeight = height;
    return true;
  }
}

function newSpacer(): HTMLTableRowElement {
  return h('tr', { class: 'virtual-spacer', 'aria-hidden': 'true' }, h('td', null));
}
