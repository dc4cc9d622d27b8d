// A confirmation step before acting on a training run (Apply a remedy, Pause, Stop): a modal dialog in the page
// (not window.confirm, which phones show out of context), focus on Cancel, Esc cancels.
import { h, uid } from '../dom.js';

export interface ConfirmOptions {
  title: string;
  /** What will happen, in a sentence or two. */
  text: string;
  /** The confirming button's label (a verb: "Stop the run"). */
  confirm: string;
  /** Shown as a dangerous action (red). */
  danger?: boolean;
}

/** Asks; resolves true once confirmed, false when cancelled (button, Esc or a click on the backdrop). */
export function confirmAction(options: ConfirmOptions): Promise<boolean> {
  const back = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const titleId = uid('confirm-title');
  const textId = uid('confirm-text');
  const cancel = h('button', { type: 'button', value: 'cancel', 'data-confirm': 'cancel' }, 'Cancel');
  const ok = h(
    'button',
    { type: 'button', class: options.danger ? 'primary danger-primary' : 'primary', 'data-confirm': 'ok' },
    options.confirm,
  );
  const dialog = h(
    'dialog',
    { class: 'confirm-dialog', 'aria-labelledby': titleId, 'aria-describedby': textId },
    h('h2', { id: titleId }, options.title),
    h('p', { id: textId }, options.text),
    h('p', { class: 'dialog-buttons' }, cancel, ok),
  );
  return new Promise((resolve) => {
    let answer = false;
    dialog.addEventListener('close', () => {
      dialog.remove();
      back?.focus({ preventScroll: true });
      resolve(answer);
    });
    cancel.addEventListener('click', () => dialog.close());
    ok.addEventListener('click', () => {
      answer = true;
      dialog.close();
    });
    // A tap outside the dialog cancels (the backdrop is the dialog element itself).
    dialog.addEventListener('click', (ev) => {
      const r = dialog.getBoundingClientRect();
      const inside = ev.clientX >= r.left && ev.clientX <= r.right && ev.clientY >= r.top && ev.clientY <= r.bottom;
      if (ev.target === dialog && !inside) dialog.close();
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}
