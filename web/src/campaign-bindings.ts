/** A campaign's bindings: one row per integration, with the events and call statuses it runs on. */
import { api } from './api.js';
import { h } from './dom.js';
import { busy, chooser, errorBox, field, numberRows } from './forms.js';
import { CALL_STATUSES, EVENT_TYPES, type Binding, type Integration } from './types.js';

export function bindingsEditor(
  path: string,
  initial: Binding[],
  integrations: Integration[],
): HTMLElement {
  const form = h('form', { class: 'card bindings', novalidate: true });
  const rows = h('div', { class: 'binding-rows' });
  let rowIds = 0;
  const addRow = (binding?: Binding) => {
    const index = rows.children.length;
    const checks = (name: string, values: readonly string[], chosen: string[] | undefined) =>
      h(
        'div',
        { class: 'checks' },
        values.map((v) =>
          h(
            'label',
            { class: 'inline' },
            h('input', { type: 'checkbox', name, value: v, checked: chosen?.includes(v) ?? false }),
            ` ${v}`,
          ),
        ),
      );
    // Its own id (the label's target), whatever rows were added and removed before it.
    const picker = chooser(
      'integrationId',
      integrations,
      binding?.integrationId,
      'choose an integration',
    );
    rowIds += 1;
    picker.id = `binding-${rowIds}-integration`;
    const row = h(
      'div',
      { class: 'binding-row', 'data-field': `bindings.${index}` },
      field('Integration', picker, `bindings.${index}.integrationId`),
      h(
        'div',
        { class: 'field', 'data-field': `bindings.${index}.on` },
        h('label', {}, 'On events'),
        checks('on', EVENT_TYPES, binding?.on ?? ['call.ended']),
      ),
      h(
        'div',
        { class: 'field', 'data-field': `bindings.${index}.statuses` },
        h('label', {}, 'Only with call statuses (none: any)'),
        checks('statuses', CALL_STATUSES, binding?.statuses),
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'link',
          onclick: () => {
            row.remove();
            numberRows(rows, 'bindings.');
          },
        },
        'Remove',
      ),
    );
    rows.appendChild(row);
    numberRows(rows, 'bindings.');
  };
  for (const binding of initial) addRow(binding);
  const save = h('button', { type: 'submit' }, 'Save bindings');
  form.append(
    h('h2', {}, 'Bindings'),
    h(
      'p',
      { class: 'muted' },
      'When this campaign’s calls emit one of these events, run the integration.',
    ),
    h('p', { class: 'form-note', role: 'status', hidden: true }),
    errorBox(),
    rows,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', onclick: () => addRow() }, 'Add binding'),
      save,
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(form, save, async () => {
      const bindings = [...rows.querySelectorAll<HTMLElement>('.binding-row')].map((row) => {
        const checked = (name: string) =>
          [...row.querySelectorAll<HTMLInputElement>(`[name=${name}]:checked`)].map((i) => i.value);
        const statuses = checked('statuses');
        return {
          integrationId: row.querySelector<HTMLInputElement | HTMLSelectElement>(
            '[name=integrationId]',
          )!.value,
          on: checked('on'),
          ...(statuses.length === 0 ? {} : { statuses }),
        };
      });
      const saved = await api<{ bindings: Binding[] }>('PUT', `${path}/bindings`, { bindings });
      const note = form.querySelector<HTMLElement>('.form-note')!;
      note.textContent = `Saved: ${saved.bindings.length} binding(s).`;
      note.hidden = false;
    });
  });
  return form;
}
