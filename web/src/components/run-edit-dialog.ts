// The runs list's rename / tags / notes dialog.
import type { Run } from '../../../protocol/index.js';
import { MAX_NOTES_CHARS } from '../../../protocol/limits.js';
import { api } from '../api.js';
import { h, uid } from '../dom.js';

/** The rename / tags / notes dialog. */
export class RunEditDialog {
  readonly el: HTMLDialogElement;
  private readonly ids = { name: uid('e-name'), tags: uid('e-tags'), notes: uid('e-notes') };
  private readonly name: HTMLInputElement;
  private readonly tags: HTMLInputElement;
  private readonly notes: HTMLTextAreaElement;
  private readonly error: HTMLElement;
  private readonly save: HTMLButtonElement;
  private readonly title: HTMLElement;
  private run: Run | null = null;
  private back: HTMLElement | null = null;

  constructor(private readonly onSaved: (run: Run) => void) {
    const { ids } = this;
    this.name = h('input', { id: ids.name, required: true, maxlength: 200, autocomplete: 'off' });
    this.tags = h('input', { id: ids.tags, autocomplete: 'off', 'aria-describedby': `${ids.tags}-help` });
    this.notes = h('textarea', { id: ids.notes, rows: 4, maxlength: MAX_NOTES_CHARS });
    this.error = h('p', { class: 'form-status', role: 'alert' });
    this.save = h('button', { type: 'submit', class: 'primary' }, 'Save');
    const cancel = h('button', { type: 'button' }, 'Cancel');
    this.title = h('h2', { id: uid('edit-title') }, 'Edit run');
    this.el = h(
      'dialog',
      { class: 'edit-dialog', 'aria-labelledby': this.title.id },
      h(
        'form',
        { method: 'dialog' },
        this.title,
        h('p', { class: 'field-block' }, h('label', { for: ids.name }, 'Name'), this.name),
        h(
          'p',
          { class: 'field-block' },
          h('label', { for: ids.tags }, 'Tags'),
          this.tags,
          h('small', { id: `${ids.tags}-help` }, 'Comma-separated, e.g. facades, lr-sweep'),
        ),
        h('p', { class: 'field-block' }, h('label', { for: ids.notes }, 'Notes'), this.notes),
        this.error,
        h('p', { class: 'dialog-buttons' }, cancel, this.save),
      ),
    );
    cancel.addEventListener('click', () => this.el.close());
    this.el.addEventListener('close', () => this.back?.focus());
    this.el.querySelector('form')!.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.submit();
    });
  }

  open(run: Run, returnFocus: HTMLElement): void {
    this.run = run;
    this.back = returnFocus;
    this.title.textContent = `Edit ${run.name}`;
    this.name.value = run.name;
    this.tags.value = run.tags.join(', ');
    this.notes.value = run.notes;
    this.error.textContent = '';
    this.el.showModal();
    this.name.focus();
  }

  private submit(): void {
    if (!this.run) return;
    const tagList = [
      ...new Set(
        this.tags.value
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
      ),
    ];
    this.save.disabled = true;
    this.error.textContent = '';
    api
      .patchRun(this.run.id, { name: this.name.value.trim(), tags: tagList, notes: this.notes.value })
      .then((saved) => {
        this.onSaved(saved);
        this.el.close();
      })
      .catch((err: Error) => (this.error.textContent = `Not saved: ${err.message}`))
      .finally(() => (this.save.disabled = false));
  }
}
