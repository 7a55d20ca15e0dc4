/** Contacts: contact lists (create, rename, delete), a list's contacts, and CSV import. */
import { ApiError, api, query, type Page } from './api.js';
import { h, replace, when } from './dom.js';
import { busy, errorBox, field, input } from './forms.js';
import { go, heading, link, pager, type PageContext } from './shell.js';
import type { Contact, ContactList } from './types.js';

export async function contactLists(): Promise<HTMLElement> {
  const first = await api<Page<ContactList>>('GET', `/contact-lists${query({ limit: 50 })}`);
  const body = h('tbody');
  const addRows = (items: ContactList[]) => {
    for (const list of items) {
      body.appendChild(
        h(
          'tr',
          {},
          h('td', {}, link(`/contacts/${list.id}`, list.name)),
          h('td', {}, String(list.size)),
          h('td', {}, when(list.createdAt)),
        ),
      );
    }
  };
  addRows(first.items);
  const more = pager(async (cursor) => {
    const next = await api<Page<ContactList>>(
      'GET',
      `/contact-lists${query({ limit: 50, cursor })}`,
    );
    addRows(next.items);
    return next.nextCursor;
  }, first.nextCursor);
  const form = h('form', { class: 'card inline-form', novalidate: true });
  const create = h('button', { type: 'submit' }, 'Create list');
  form.append(
    errorBox(),
    field('New list name', input('name'), 'name'),
    h('div', { class: 'actions' }, create),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(form, create, async () => {
      const list = await api<ContactList>('POST', '/contact-lists', {
        name: form.querySelector<HTMLInputElement>('[name=name]')!.value,
      });
      go(`/contacts/${list.id}`);
    });
  });
  return h(
    'section',
    {},
    heading('Contact lists'),
    form,
    first.items.length === 0
      ? h('p', { class: 'muted empty' }, 'No contact list yet.')
      : h(
          'table',
          { class: 'contact-lists' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Name', 'Contacts', 'Created'].map((t) => h('th', {}, t)),
            ),
          ),
          body,
        ),
    more,
  );
}

export async function contactListDetail(context: PageContext): Promise<HTMLElement> {
  const id = context.params[0] ?? '';
  const path = `/contact-lists/${encodeURIComponent(id)}`;
  const sizeLine = (list: ContactList) =>
    `${list.size} contact(s) · created ${when(list.createdAt)} · id ${list.id}`;
  /** The contacts, a hundred at a time: drawn when the page opens and after an import. */
  const contacts = h('div', { class: 'contacts-view' });
  const drawContacts = async (first: Page<Contact>) => {
    const body = h('tbody');
    const addRows = (items: Contact[]) => {
      for (const c of items) {
        body.appendChild(
          h(
            'tr',
            {},
            [c.id, c.phone, c.firstName ?? '', c.lastName ?? '', c.email ?? ''].map((v) =>
              h('td', {}, v),
            ),
            h('td', {}, Object.keys(c.custom).length === 0 ? '' : JSON.stringify(c.custom)),
          ),
        );
      }
    };
    addRows(first.items);
    const more = pager(async (cursor) => {
      const next = await api<Page<Contact>>(
        'GET',
        `${path}/contacts${query({ limit: 100, cursor })}`,
      );
      addRows(next.items);
      return next.nextCursor;
    }, first.nextCursor);
    replace(
      contacts,
      first.items.length === 0
        ? h('p', { class: 'muted empty' }, 'No contact yet.')
        : h(
            'table',
            { class: 'contacts' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Id', 'Phone', 'First name', 'Last name', 'Email', 'Custom'].map((t) =>
                  h('th', {}, t),
                ),
              ),
            ),
            body,
          ),
      more,
    );
  };
  const firstPage = () => api<Page<Contact>>('GET', `${path}/contacts${query({ limit: 100 })}`);
  const [list, first] = await Promise.all([api<ContactList>('GET', path), firstPage()]);
  await drawContacts(first);
  const size = h('p', { class: 'muted list-size' }, sizeLine(list));

  const rename = h('form', { class: 'card inline-form', novalidate: true });
  const save = h('button', { type: 'submit' }, 'Rename');
  const remove = h('button', { type: 'button', class: 'danger' }, 'Delete list');
  rename.append(
    errorBox(),
    field('Name', input('name', list.name), 'name'),
    h('div', { class: 'actions' }, save, remove),
  );
  rename.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(rename, save, async () => {
      await api('PATCH', path, {
        name: rename.querySelector<HTMLInputElement>('[name=name]')!.value,
      });
      go(`/contacts/${id}?renamed=${Date.now()}`);
    });
  });
  remove.addEventListener('click', () => {
    if (!window.confirm(`Delete the list "${list.name}" and its contacts?`)) return;
    void busy(rename, remove, async () => {
      await api('DELETE', path);
      go('/contacts');
    });
  });

  // After an import, the list's size and its contacts are read again.
  const imported = async () => {
    const [now, page] = await Promise.all([api<ContactList>('GET', path), firstPage()]);
    size.textContent = sizeLine(now);
    await drawContacts(page);
  };

  return h(
    'section',
    {},
    heading(
      `Contact list: ${list.name}`,
      link('/contacts', 'All lists', { class: 'button secondary' }),
    ),
    size,
    rename,
    importForm(path, list.name, imported),
    h('h2', {}, 'Contacts'),
    contacts,
  );
}

/** CSV import: the file is sent as it is (text/csv); a refused file lists each bad row. */
function importForm(path: string, name: string, imported: () => Promise<void>): HTMLElement {
  const form = h('form', { class: 'card import-form', novalidate: true });
  const file = h('input', { type: 'file', name: 'file', accept: '.csv,text/csv' });
  const send = h('button', { type: 'submit' }, 'Import');
  const out = h('div', { class: 'import-result' });
  form.append(
    h('h2', {}, 'Import a CSV file'),
    h(
      'p',
      { class: 'muted' },
      'A header row names the columns: id, phone, firstName, lastName, email, address, description; any other column is a custom field. All rows are added, or none.',
    ),
    errorBox(),
    field('CSV file', file, 'file'),
    h('div', { class: 'actions' }, send),
    out,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    replace(out);
    void busy(form, send, async () => {
      const chosen = file.files?.[0];
      if (chosen === undefined) throw new Error('Choose a CSV file first');
      // The API takes a body of up to 1 MiB (docs/errors.md, PAYLOAD_TOO_LARGE): a bigger file
      // is said at once, not read and sent to be refused.
      if (chosen.size > IMPORT_LIMIT) throw new Error(tooLarge(chosen.size));
      try {
        const result = await api<{ added: number; size: number }>(
          'POST',
          `${path}/contacts`,
          undefined,
          {
            // Its bytes: read as text here, a file that is not UTF-8 would arrive with its
            // accented letters replaced instead of refused with the line to fix.
            raw: { body: chosen, type: 'text/csv' },
          },
        );
        replace(
          out,
          h(
            'p',
            { class: 'ok' },
            `Added ${result.added} contact(s) to ${name}; it has ${result.size}.`,
          ),
        );
        file.value = '';
      } catch (error) {
        if (error instanceof ApiError && error.fieldDetails.length > 0) {
          replace(
            out,
            h(
              'table',
              { class: 'import-errors' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['Row', 'Line', 'Where', 'Problem'].map((t) => h('th', {}, t)),
                ),
              ),
              h(
                'tbody',
                {},
                error.fieldDetails.map((d) =>
                  h(
                    'tr',
                    {},
                    h('td', {}, d['row'] === undefined ? '' : String(d['row'])),
                    h('td', {}, d.line === undefined ? '' : String(d.line)),
                    h('td', {}, d.field ?? ''),
                    h('td', {}, d.message),
                  ),
                ),
              ),
            ),
          );
        }
        if (error instanceof ApiError && error.status === 413) {
          throw new Error(tooLarge(new Blob([await chosen.text()]).size));
        }
        // The rows are in the table: the form's error says what happened, not each row again.
        if (error instanceof ApiError && error.fieldDetails.length > 0) {
          throw new Error(`${error.code}: ${error.message}`);
        }
        throw error;
      }
      // The rows added are shown below (a failure to read them is said in this form).
      await imported();
    });
  });
  return form;
}

/** What a contact import may send (the API's body limit for anything but event batches). */
const IMPORT_LIMIT = 1024 * 1024;

function tooLarge(bytes: number): string {
  const mib = (bytes / IMPORT_LIMIT).toFixed(bytes < 10 * IMPORT_LIMIT ? 2 : 0);
  return `The file is ${mib} MiB; an import takes up to 1 MiB. Split it into smaller files (each with the header row) and import them one after the other.`;
}
