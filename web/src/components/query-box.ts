// The runs table's filter box: the expression in protocol/run-query.ts's grammar, checked as it is typed, with an
// error shown under the text and the wrong part marked where it is.
import { RunQueryError, parseRunQuery } from '../../../protocol/run-query.js';
import { h, uid } from '../dom.js';

const EXAMPLE = 'config.lr_d >= 1e-4 and val/fid < 40 and tag:facades and status:running';

export class QueryBox {
  readonly el: HTMLElement;
  readonly input: HTMLInputElement;
  private readonly error: HTMLElement;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** `onApply` receives each valid expression (after a pause in typing, or at once on Enter). */
  constructor(
    initial: string,
    private readonly onApply: (q: string) => void,
  ) {
    const id = uid('f-query');
    this.input = h('input', {
      id,
      type: 'search',
      class: 'query-input',
      'data-shortcut': 'filter',
      value: initial,
      placeholder: EXAMPLE,
      autocomplete: 'off',
      spellcheck: 'false',
      'aria-describedby': `${id}-error ${id}-help`,
    });
    this.error = h('div', { id: `${id}-error`, class: 'query-error', role: 'alert' });
    this.el = h(
      'div',
      { class: 'query-box' },
      h('label', { for: id }, 'Filter'),
      this.input,
      this.error,
      h(
        'small',
        { id: `${id}-help`, class: 'muted-text' },
        'e.g. ',
        h('code', null, 'val/fid < 40 and tag:facades'),
        ', ',
        h('code', null, 'best(val/ssim) > 0.7 or name:baseline'),
        ', ',
        h('code', null, 'not status:failed and age < 1d'),
      ),
    );
    this.input.addEventListener('input', () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.check(true), 300);
    });
    this.input.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter') return;
      e.preventDefault();
      clearTimeout(this.timer);
      this.check(true);
    });
  }

  /** Parses the text; shows the error where it is, or hands a valid expression on. */
  check(apply: boolean): boolean {
    const text = this.input.value;
    try {
      parseRunQuery(text);
    } catch (err) {
      if (!(err instanceof RunQueryError)) throw err;
      this.showError(err.message, err.position, err.length);
      return false;
    }
    this.clearError();
    if (apply) this.onApply(text.trim());
    return true;
  }

  /** Shows an error at `position` (0-based) of the text: the message, then the text with that part marked. */
  showError(message: string, position: number, length: number): void {
    const text = this.input.value;
    const end = Math.min(text.length, position + Math.max(1, length));
    this.input.setAttribute('aria-invalid', 'true');
    this.error.replaceChildren(
      h('span', { class: 'query-message' }, `At character ${position + 1}: ${message}`),
      h(
        'code',
        { class: 'query-where' },
        text.slice(0, position),
        h('mark', { 'data-position': position }, position >= text.length ? ' ' : text.slice(position, end)),
        text.slice(end),
      ),
    );
  }

  clearError(): void {
    this.input.removeAttribute('aria-invalid');
    this.error.replaceChildren();
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}
