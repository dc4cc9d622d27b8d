// The user-rule editor: threshold alerts on any metric ("val/fid > 40 for 10 minutes"), listed, added, edited and
// deleted over /api/v1/alerts/user-rules. On the run page it shows the rules that apply to the run (its own and the
// server-wide ones) and adds rules for this run or for all runs; in the #/alerts view it holds every rule.
import type { UserRuleBody } from '../../../protocol/user-rule-schemas.js';
import type { UserRule } from '../../../protocol/user-rules.js';
import { USER_RULE_COMPARISONS, USER_RULE_METRIC_PATTERN } from '../../../protocol/user-rules.js';
import { api, ApiError } from '../api.js';
import { fill, h, notice, uid } from '../dom.js';

export interface UserRulesEditorOptions {
  /** The run whose rules are shown (its own and the server-wide ones); null: every rule, added server-wide. */
  run: string | null;
  runName?: (id: string) => string;
}

type Scope = 'run' | 'all';

/** A rule in words: `loss/D > 2 for 5 steps`. */
export function describeRule(r: Pick<UserRule, 'metric' | 'comparison' | 'value' | 'for'>): string {
  const span = 'steps' in r.for ? `${r.for.steps} step${r.for.steps === 1 ? '' : 's'}` : `${r.for.minutes} min`;
  return `${r.metric} ${r.comparison} ${r.value} for ${span}`;
}

export class UserRulesEditor {
  readonly el: HTMLElement;
  private readonly list: HTMLElement;
  private readonly form: HTMLFormElement;
  private readonly error: HTMLElement;
  private readonly fields: {
    name: HTMLInputElement;
    metric: HTMLInputElement;
    comparison: HTMLSelectElement;
    value: HTMLInputElement;
    count: HTMLInputElement;
    unit: HTMLSelectElement;
    severity: HTMLSelectElement;
    enabled: HTMLInputElement;
    scope: HTMLSelectElement | null;
  };
  private readonly submit: HTMLButtonElement;
  private readonly cancel: HTMLButtonElement;
  private rules: UserRule[] = [];
  /** The rule being edited; null while adding. */
  private editing: UserRule | null = null;

  constructor(private readonly options: UserRulesEditorOptions) {
    const field = <E extends HTMLElement>(label: string, control: E): [HTMLElement, E] => {
      const id = uid('rule');
      control.id = id;
      return [h('label', { for: id }, label), control];
    };
    const select = (name: string, values: readonly string[], labels?: readonly string[]): HTMLSelectElement =>
      h(
        'select',
        { name },
        values.map((v, i) => h('option', { value: v }, labels?.[i] ?? v)),
      );
    this.fields = {
      name: h('input', { name: 'name', type: 'text', maxlength: 200, placeholder: '(the condition)' }),
      metric: h('input', {
        name: 'metric',
        type: 'text',
        required: true,
        pattern: USER_RULE_METRIC_PATTERN.slice(1, -1),
        placeholder: 'val/fid or loss/*',
        autocomplete: 'off',
      }),
      comparison: select('comparison', USER_RULE_COMPARISONS),
      value: h('input', { name: 'value', type: 'number', step: 'any', required: true }),
      count: h('input', { name: 'count', type: 'number', min: 1, step: 'any', value: 1, required: true }),
      unit: select('unit', ['steps', 'minutes']),
      severity: select('severity', ['warn', 'critical', 'info']),
      enabled: h('input', { name: 'enabled', type: 'checkbox', checked: true }),
      scope: options.run === null ? null : select('scope', ['run', 'all'], ['this run', 'all runs']),
    };
    this.submit = h('button', { type: 'submit', class: 'primary' }, 'Add rule');
    this.cancel = h('button', { type: 'button', hidden: true, onclick: () => this.reset() }, 'Cancel');
    this.error = h('p', { class: 'form-error', role: 'alert' });
    const f = this.fields;
    this.form = h(
      'form',
      {
        class: 'user-rule-form',
        'aria-label': 'User rule',
        novalidate: true,
        onsubmit: (e: Event) => void this.save(e),
      },
      h(
        'div',
        { class: 'user-rule-fields' },
        ...field('Name', f.name),
        ...field('Metric', f.metric),
        ...field('Comparison', f.comparison),
        ...field('Value', f.value),
        ...field('For', f.count),
        ...field('Unit', f.unit),
        ...field('Severity', f.severity),
        ...(f.scope ? field('Applies to', f.scope) : []),
        h('label', null, f.enabled, ' enabled'),
      ),
      h('div', { class: 'user-rule-actions' }, this.submit, this.cancel),
      this.error,
    );
    this.list = h('div', { class: 'user-rule-list' });
    this.el = h(
      'div',
      { class: 'user-rules' },
      h('h4', null, 'Threshold rules'),
      h(
        'p',
        { class: 'muted-text' },
        'Alert when a metric crosses a value for a number of steps or minutes; * in the metric matches any characters.',
      ),
      this.list,
      this.form,
    );
  }

  async load(): Promise<void> {
    try {
      this.rules = await api.userRules(this.options.run);
      this.render();
    } catch (err) {
      fill(this.list, notice('error', `Could not load the rules: ${(err as Error).message}`));
    }
  }

  private render(): void {
    if (this.rules.length === 0) return fill(this.list, notice('empty', 'No threshold rules yet.'));
    fill(
      this.list,
      h(
        'table',
        { class: 'user-rule-table' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ['Name', 'Condition', 'Severity', 'Applies to', ''].map((t) => h('th', { scope: 'col' }, t)),
          ),
        ),
        h(
          'tbody',
          null,
          this.rules.map((r) =>
            h(
              'tr',
              { 'data-rule': r.id, class: r.enabled ? null : 'disabled' },
              h('td', null, r.name),
              h('td', null, h('code', null, describeRule(r)), r.enabled ? null : ' (disabled)'),
              h('td', null, r.severity),
              h(
                'td',
                null,
                r.run === null
                  ? 'all runs'
                  : (this.options.runName?.(r.run) ?? (r.run === this.options.run ? 'this run' : r.run)),
              ),
              h(
                'td',
                null,
                h('button', { type: 'button', onclick: () => this.edit(r), 'aria-label': `Edit ${r.name}` }, 'Edit'),
                ' ',
                h(
                  'button',
                  { type: 'button', onclick: () => void this.remove(r), 'aria-label': `Delete ${r.name}` },
                  'Delete',
                ),
              ),
            ),
          ),
        ),
      ),
    );
  }

  private edit(r: UserRule): void {
    this.editing = r;
    const f = this.fields;
    f.name.value = r.name;
    f.metric.value = r.metric;
    f.comparison.value = r.comparison;
    f.value.value = String(r.value);
    f.unit.value = 'steps' in r.for ? 'steps' : 'minutes';
    f.count.value = String('steps' in r.for ? r.for.steps : r.for.minutes);
    f.severity.value = r.severity;
    f.enabled.checked = r.enabled;
    if (f.scope) {
      f.scope.value = r.run === null ? 'all' : 'run';
      f.scope.disabled = true; // a rule keeps its scope; delete it and add it again to move it
    }
    this.submit.textContent = 'Save rule';
    this.cancel.hidden = false;
    this.error.textContent = '';
    f.metric.focus();
  }

  private reset(): void {
    this.editing = null;
    // Not form.reset(): the defaults are properties (h() sets them so), which reset() would clear.
    const f = this.fields;
    for (const input of [f.name, f.metric, f.value]) input.value = '';
    f.count.value = '1';
    f.comparison.value = USER_RULE_COMPARISONS[0];
    f.unit.value = 'steps';
    f.severity.value = 'warn';
    f.enabled.checked = true;
    if (f.scope) {
      f.scope.value = 'run';
      f.scope.disabled = false;
    }
    this.submit.textContent = 'Add rule';
    this.cancel.hidden = true;
    this.error.textContent = '';
  }

  /** The form as a request body; numbers the browser cannot read go as they are, for the server to refuse. */
  private body(): UserRuleBody {
    const f = this.fields;
    const count = Number(f.count.value);
    const body: UserRuleBody = {
      metric: f.metric.value.trim(),
      comparison: f.comparison.value,
      value: f.value.value === '' ? Number.NaN : Number(f.value.value),
      for: f.unit.value === 'steps' ? { steps: count } : { minutes: count },
      severity: f.severity.value as UserRule['severity'],
      enabled: f.enabled.checked,
    };
    if (f.name.value.trim()) body.name = f.name.value.trim();
    return body;
  }

  private async save(e: Event): Promise<void> {
    e.preventDefault();
    this.error.textContent = '';
    const body = this.body();
    const scope: Scope = this.fields.scope?.value === 'all' || this.options.run === null ? 'all' : 'run';
    this.submit.disabled = true;
    try {
      if (this.editing) await api.updateUserRule(this.editing.id, body);
      else await api.createUserRule(scope === 'all' ? null : this.options.run, body);
      this.reset();
      await this.load();
    } catch (err) {
      const code = err instanceof ApiError ? `${err.code}: ` : '';
      this.error.textContent = `${code}${(err as Error).message}`;
    } finally {
      this.submit.disabled = false;
    }
  }

  private async remove(r: UserRule): Promise<void> {
    if (!confirm(`Delete the rule “${r.name}”? Its open alerts resolve.`)) return;
    try {
      await api.deleteUserRule(r.id);
      if (this.editing?.id === r.id) this.reset();
      await this.load();
    } catch (err) {
      this.error.textContent = (err as Error).message;
    }
  }
}
