// The runs table's column chooser: the columns shown (remove, move left), and a field to add any column in the
// table's grammar (a config key, a metric's last/min/max/best, or status, name, tags, age, step, alerts), with the
// metric names and config keys in use offered as suggestions.
import { AGGREGATES, RunQueryError, fieldKey, parseRunColumns, type Field } from '../../../protocol/run-query.js';
import { fill, h, uid } from '../dom.js';

export const BUILTIN_LABELS: Record<string, string> = {
  status: 'Status',
  name: 'Name',
  tags: 'Tags',
  age: 'Age',
  created: 'Created',
  step: 'Last step',
  alerts: 'Alerts',
};

/** A column's header text: a metric's last value by its bare name, other aggregates as written. */
export function columnLabel(f: Field): string {
  if (f.kind === 'run') return BUILTIN_LABELS[f.name] ?? f.name;
  if (f.kind === 'metric' && f.agg === 'last') return f.metric;
  return fieldKey(f);
}

export class ColumnChooser {
  readonly el: HTMLDialogElement;
  private readonly list: HTMLOListElement;
  private readonly input: HTMLInputElement;
  private readonly options: HTMLDataListElement;
  private readonly error: HTMLElement;
  private columns: Field[] = [];
  private back: HTMLElement | null = null;

  constructor(private readonly onChange: (columns: Field[]) => void) {
    const id = uid('col-add');
    this.list = h('ol', { class: 'column-list' });
    this.options = h('datalist', { id: `${id}-options` });
    this.input = h('input', { id, list: `${id}-options`, autocomplete: 'off', spellcheck: 'false' });
    this.error = h('p', { class: 'form-status', role: 'alert' });
    const add = h('button', { type: 'submit' }, 'Add');
    const done = h('button', { type: 'button', class: 'primary' }, 'Done');
    this.el = h(
      'dialog',
      { class: 'edit-dialog column-chooser', 'aria-labelledby': `${id}-title` },
      h(
        'form',
        { method: 'dialog' },
        h('h2', { id: `${id}-title` }, 'Columns'),
        this.list,
        h(
          'p',
          { class: 'field-block' },
          h('label', { for: id }, 'Add a column'),
          h('span', { class: 'inline-controls' }, this.input, add),
          h(
            'small',
            null,
            'A config key (config.lr_d), a metric (val/fid: its last value; min(...), max(...), best(...)), or status, name, tags, age, step, alerts',
          ),
        ),
        this.options,
        this.error,
        h('p', { class: 'dialog-buttons' }, done),
      ),
    );
    done.addEventListener('click', () => this.el.close());
    this.el.addEventListener('close', () => this.back?.focus());
    this.el.querySelector('form')!.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.add();
    });
  }

  open(columns: Field[], fields: { metrics: string[]; config: string[] }, returnFocus: HTMLElement): void {
    this.columns = [...columns];
    this.back = returnFocus;
    this.error.textContent = '';
    this.input.value = '';
    const suggestions = [
      ...Object.keys(BUILTIN_LABELS),
      ...fields.config.map((k) => fieldKey({ kind: 'config', path: [k] })),
      ...fields.metrics.flatMap((m) => AGGREGATES.map((agg) => fieldKey({ kind: 'metric', metric: m, agg }))),
    ];
    fill(
      this.options,
      suggestions.map((s) => h('option', { value: s })),
    );
    this.paint();
    this.el.showModal();
    this.input.focus();
  }

  private paint(): void {
    fill(
      this.list,
      this.columns.map((f, i) => {
        const label = columnLabel(f);
        const left = h('button', { type: 'button', class: 'small', 'aria-label': `Move ${label} left` }, '←');
        const remove = h('button', { type: 'button', class: 'small danger', 'aria-label': `Remove ${label}` }, '✕');
        left.disabled = i === 0;
        left.addEventListener('click', () => {
          [this.columns[i - 1], this.columns[i]] = [this.columns[i]!, this.columns[i - 1]!];
          this.changed();
        });
        remove.addEventListener('click', () => {
          this.columns.splice(i, 1);
          this.changed();
        });
        return h('li', { 'data-column': fieldKey(f) }, h('span', null, label), ' ', left, ' ', remove);
      }),
    );
  }

  private add(): void {
    let fields: Field[];
    try {
      fields = parseRunColumns(this.input.value);
    } catch (err) {
      if (!(err instanceof RunQueryError)) throw err;
      this.error.textContent = `At character ${err.position + 1}: ${err.message}`;
      return;
    }
    const have = new Set(this.columns.map(fieldKey));
    for (const f of fields) if (!have.has(fieldKey(f))) this.columns.push(f);
    this.input.value = '';
    this.error.textContent = '';
    this.changed();
  }

  private changed(): void {
    this.paint();
    this.onChange([...this.columns]);
  }
}
