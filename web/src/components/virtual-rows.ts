// A virtualised table body: of a long list of rows, only those in (or near) the scroll box's view are in the DOM, with a
// spacer row above and below standing for the rest, so a table of thousands of runs is drawn and scrolled in the time
// of a few dozen. Rows have one fixed height (the table's CSS keeps cells to one line), measured from the rows drawn.
import { h } from '../dom.js';

/** Rows kept in the DOM beyond each edge of the view: Tab and short scrolls reach rows already there. */
const MARGIN_ROWS = 20;
/** Rows drawn before any row height is known. */
const FIRST_ROWS = 60;

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
  private frame = 0;
  private readonly topSpacer = spacer();
  private readonly bottomSpacer = spacer();
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
    if (!this.rowHeight) return { from: 0, to: Math.min(n, FIRST_ROWS) };
    // Where the body starts in the scroll box's content: the header's height (the spacer sits right under it).
    const head = this.tbody.offsetTop;
    const view = Math.max(this.scroller.clientHeight, window.innerHeight);
    const top = this.scroller.scrollTop - head;
    const from = Math.max(0, Math.floor(top / this.rowHeight) - MARGIN_ROWS);
    const to = Math.min(n, Math.ceil((top + view) / this.rowHeight) + MARGIN_ROWS);
    return { from: Math.min(from, to), to };
  }

  private draw(): void {
    const { from, to } = this.range();
    const want = new Map<string, T>();
    for (let i = from; i < to; i++) want.set(this.source.key(this.items[i]!), this.items[i]!);
    for (const [key, tr] of this.mounted)
      if (!want.has(key)) {
        tr.remove();
        this.mounted.delete(key);
        this.source.release(key);
      }
    this.placeSpacer(this.topSpacer, from, true);
    // Rows already in place stay put (a focused one keeps its focus); only the others are moved or inserted.
    let ref: ChildNode | null = this.topSpacer.isConnected ? this.topSpacer.nextSibling : this.tbody.firstChild;
    for (const [key, item] of want) {
      let tr = this.mounted.get(key);
      if (!tr) this.mounted.set(key, (tr = this.source.create(item)));
      if (tr === ref) ref = ref.nextSibling;
      else this.tbody.insertBefore(tr, ref);
    }
    this.placeSpacer(this.bottomSpacer, this.items.length - to, false);
    if (!this.rowHeight && this.measure()) this.draw();
  }

  /** A spacer standing for `rows` rows, at the top or the bottom of the body; none for no rows. */
  private placeSpacer(tr: HTMLTableRowElement, rows: number, top: boolean): void {
    const px = rows * this.rowHeight;
    if (px <= 0) return tr.remove();
    const cell = tr.firstElementChild as HTMLTableCellElement;
    cell.colSpan = this.source.columns();
    cell.style.height = `${px}px`;
    if (top && this.tbody.firstChild !== tr) this.tbody.prepend(tr);
    if (!top && this.tbody.lastChild !== tr) this.tbody.append(tr);
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

function spacer(): HTMLTableRowElement {
  return h('tr', { class: 'virtual-spacer', 'aria-hidden': 'true' }, h('td', null));
}
