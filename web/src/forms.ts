/**
 * Form building blocks and the display of the API's errors: each detail whose `field` names a
 * control of the form (`body.config.url` → the control marked `data-field="config.url"`) is shown
 * under that control; the code, message and any detail naming no control are shown at the top.
 */
import { ApiError, type ErrorDetail } from './api.js';
import { h, replace, type Attrs, type Child } from './dom.js';

/**
 * A labelled control, marked with the API field it edits so errors find it.
 *
 * ### Examples
 * ```ts
 * field('Remote URL', h('input', { name: 'url', required: true }), 'config.url', 'A template');
 * ```
 */
export function field(
  label: string,
  control: HTMLElement,
  apiField: string,
  hint?: Child,
): HTMLElement {
  const id = `f-${apiField.replace(/[^\w-]/g, '-')}`;
  if (control.id === '') control.id = id;
  return h(
    'div',
    { class: 'field', 'data-field': apiField },
    h('label', { for: control.id }, label),
    control,
    hint === undefined ? null : h('small', { class: 'hint' }, hint),
  );
}

export function input(
  name: string,
  value: string | number = '',
  attrs: Attrs = {},
): HTMLInputElement {
  return h('input', { name, value: String(value), ...attrs });
}

export function textarea(name: string, value = '', attrs: Attrs = {}): HTMLTextAreaElement {
  const area = h('textarea', { name, rows: 4, spellcheck: 'false', ...attrs });
  area.value = value;
  return area;
}

export function select(
  name: string,
  options: readonly string[],
  value: string,
  attrs: Attrs = {},
): HTMLSelectElement {
  const control = h(
    'select',
    { name, ...attrs },
    options.map((option) => h('option', { value: option }, option === '' ? 'any' : option)),
  );
  control.value = value;
  return control;
}

/** The box at the top of a form where its errors and results are said. */
export function errorBox(): HTMLElement {
  return h('div', { class: 'form-error', role: 'alert', hidden: true });
}

/** A field name as the form marks it: without the request part (`body.`, `querystring.`). */
function fieldName(raw: string): string {
  return raw.replace(/^(body|querystring|params|headers)\./, '');
}

function detailText(detail: ErrorDetail, row?: { part: string; at: string }): string {
  const at =
    detail.line !== undefined
      ? ` (line ${detail.line}${detail.column === undefined ? '' : `, column ${detail.column}`})`
      : row === undefined
        ? ''
        : ` (${row.at})`;
  return `${row === undefined || row.part === '' ? '' : `${row.part}: `}${detail.message}${at}`;
}

/**
 * Where in a field that holds a list as text a detail's index points: `options.responseVariables.3.name`
 * under a field marked `data-rows="lines"` is its fourth non-empty line (`line 5` when a blank line
 * comes before), `options.successStatuses.1` under one marked `data-rows="items"` its second
 * item (`item 2: 99`), as the form reads them into the request.
 */
function rowOf(target: HTMLElement, name: string): { part: string; at: string } | undefined {
  const marked = target.getAttribute('data-field') ?? '';
  const kind = target.getAttribute('data-rows');
  const control = target.querySelector<HTMLInputElement | HTMLTextAreaElement>('input, textarea');
  if (kind === null || control === null || !name.startsWith(`${marked}.`)) return undefined;
  const [index = '', ...part] = name.slice(marked.length + 1).split('.');
  if (!/^\d+$/.test(index)) return undefined;
  const wanted = Number(index);
  if (kind === 'items') {
    const item = control.value.split(/[\s,]+/).filter((p) => p !== '')[wanted];
    return item === undefined
      ? undefined
      : { part: part.join('.'), at: `item ${wanted + 1}: ${item}` };
  }
  let seen = -1;
  const lines = control.value.split('\n');
  for (const [at, line] of lines.entries()) {
    if (line.trim() !== '') seen += 1;
    if (seen === wanted) return { part: part.join('.'), at: `line ${at + 1}` };
  }
  return undefined;
}

/** Removes what `showError` put in `form`. */
export function clearErrors(form: HTMLElement): void {
  for (const element of form.querySelectorAll('.field-error')) element.remove();
  for (const element of form.querySelectorAll('[aria-invalid]'))
    element.removeAttribute('aria-invalid');
  for (const element of form.querySelectorAll('.field.invalid'))
    element.classList.remove('invalid');
  const box = form.querySelector<HTMLElement>('.form-error');
  if (box !== null) {
    box.hidden = true;
    box.replaceChildren();
  }
}

/**
 * Shows `error` in `form`: an `ApiError`'s details under the fields they name (the closest marked
 * field: `config.params.0.value` falls back to `config.params`), the rest in the form's box.
 */
export function showError(form: HTMLElement, error: unknown): void {
  clearErrors(form);
  const box = form.querySelector<HTMLElement>('.form-error');
  const unplaced: string[] = [];
  if (error instanceof ApiError) {
    for (const detail of error.fieldDetails) {
      const target = detail.field === undefined ? null : findField(form, fieldName(detail.field));
      if (target === null) {
        unplaced.push(
          detail.field === undefined
            ? detailText(detail)
            : `${detail.field}: ${detailText(detail)}`,
        );
        continue;
      }
      target.classList.add('invalid');
      target.querySelector('input, select, textarea')?.setAttribute('aria-invalid', 'true');
      const row = rowOf(target, fieldName(detail.field!));
      target.appendChild(h('p', { class: 'field-error' }, detailText(detail, row)));
    }
    if (!Array.isArray(error.details) && error.details !== undefined) {
      // 429 (sign-in throttled) says how long to wait; other details are listed as they came.
      const { retryAfterSeconds, ...rest } = error.details;
      const waits = typeof retryAfterSeconds === 'number';
      if (waits) unplaced.push(`Try again in ${retryAfterSeconds} s.`);
      const others = waits ? rest : error.details;
      if (Object.keys(others).length > 0) unplaced.push(JSON.stringify(others));
    }
  }
  const message = error instanceof ApiError ? `${error.code}: ${error.message}` : String(error);
  if (box === null) {
    window.alert([message, ...unplaced].join('\n'));
    return;
  }
  box.hidden = false;
  replace(
    box,
    h('strong', {}, message),
    unplaced.length === 0
      ? null
      : h(
          'ul',
          {},
          unplaced.map((text) => h('li', {}, text)),
        ),
  );
}

function findField(form: HTMLElement, name: string): HTMLElement | null {
  const parts = name.split('.');
  while (parts.length > 0) {
    const marked = form.querySelectorAll<HTMLElement>(
      `[data-field="${CSS.escape(parts.join('.'))}"]`,
    );
    // The HTTP and SOAP parts of a form both have `config.headers`: the one shown takes it.
    const found = [...marked].find((element) => element.closest('[hidden]') === null);
    if (found !== undefined) return found;
    parts.pop();
  }
  return null;
}

/** A short note at the top of a form (a save that worked). */
export function showNote(form: HTMLElement, text: string): void {
  clearErrors(form);
  const note = form.querySelector<HTMLElement>('.form-note');
  if (note !== null) {
    note.textContent = text;
    note.hidden = false;
  }
}

/**
 * Runs `action` with `button` disabled, showing any failure in `form`.
 *
 * ### Examples
 * ```ts
 * h('button', { onclick: () => busy(form, button, () => save()) }, 'Save');
 * ```
 */
export async function busy(
  form: HTMLElement,
  button: HTMLButtonElement | null,
  action: () => Promise<void>,
): Promise<void> {
  if (button !== null) button.disabled = true;
  try {
    clearErrors(form);
    await action();
  } catch (error) {
    showError(form, error);
  } finally {
    if (button !== null) button.disabled = false;
  }
}

/**
 * Marks each row of `rows`, and the fields in it, with the row's place as the API numbers it
 * (`config.params.0.value`): called after a row is added or removed, so an error the API names by
 * index lands under the row it is about, not under the one that had that place before.
 */
export function numberRows(rows: HTMLElement, prefix: string): void {
  const numbered = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\d+`);
  [...rows.children].forEach((row, index) => {
    for (const element of [row, ...row.querySelectorAll('[data-field]')]) {
      const name = element.getAttribute('data-field');
      if (name !== null && numbered.test(name)) {
        element.setAttribute('data-field', name.replace(numbered, `${prefix}${index}`));
      }
    }
  });
}

/** A select over `items`, or a text input for an id when there is nothing to choose from. */
export function chooser(
  name: string,
  items: { id: string; name: string }[],
  value: string | null | undefined,
  none: string,
): HTMLElement {
  if (items.length === 0) return input(name, value ?? '', { placeholder: 'id' });
  // A value the list does not have (past the pickers' 500, or gone) stays chosen, by its id: a
  // select without it would read as none and a save would clear it.
  const missing =
    value !== null && value !== undefined && value !== '' && !items.some((i) => i.id === value);
  const control = h(
    'select',
    { name },
    h('option', { value: '' }, none),
    missing ? h('option', { value }, `${value} (not listed)`) : null,
    items.map((i) => h('option', { value: i.id }, i.name)),
  );
  control.value = value ?? '';
  return control;
}
