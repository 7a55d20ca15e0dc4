/** The signed-in user's API keys (for a dialer or a script): create one (shown once), revoke. */
import { api, query, type Page } from './api.js';
import { h, pre, replace, when } from './dom.js';
import { busy, errorBox, field, input } from './forms.js';
import { heading } from './shell.js';

interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export async function apiKeys(): Promise<HTMLElement> {
  const card = h('div', { class: 'card api-keys' });
  const list = h('div');
  const draw = async () => {
    // Every key, a page of 500 at a time (a user rarely has more than a few).
    const items: ApiKey[] = [];
    let cursor: string | null = null;
    do {
      const page: Page<ApiKey> = await api<Page<ApiKey>>(
        'GET',
        `/api-keys${query({ limit: 500, cursor })}`,
      );
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== null);
    replace(
      list,
      items.length === 0
        ? h('p', { class: 'muted' }, 'No API key yet.')
        : h(
            'table',
            {},
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Name', 'Starts with', 'Created', 'Last used', ''].map((t) => h('th', {}, t)),
              ),
            ),
            h(
              'tbody',
              {},
              items.map((key) =>
                h(
                  'tr',
                  {},
                  h('td', {}, key.name),
                  h('td', {}, h('code', {}, `${key.prefix}…`)),
                  h('td', {}, when(key.createdAt)),
                  h('td', {}, when(key.lastUsedAt)),
                  h(
                    'td',
                    {},
                    key.revokedAt !== null
                      ? `revoked ${when(key.revokedAt)}`
                      : h(
                          'button',
                          {
                            type: 'button',
                            class: 'link',
                            onclick: () => {
                              if (!window.confirm(`Revoke the key "${key.name}"?`)) return;
                              void busy(card, null, async () => {
                                await api('DELETE', `/api-keys/${encodeURIComponent(key.id)}`);
                                await draw();
                              });
                            },
                          },
                          'Revoke',
                        ),
                  ),
                ),
              ),
            ),
          ),
    );
  };
  const form = h('form', { class: 'inline-form', novalidate: true });
  const create = h('button', { type: 'submit' }, 'Create key');
  const shown = h('div', { class: 'new-key' });
  form.append(
    field('Name', input('name', '', { placeholder: 'dialer' }), 'name'),
    h('div', { class: 'actions' }, create),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(card, create, async () => {
      const created = await api<ApiKey & { key: string }>('POST', '/api-keys', {
        name: form.querySelector<HTMLInputElement>('[name=name]')!.value,
      });
      replace(
        shown,
        h('p', { class: 'ok' }, `Key "${created.name}": copy it now, it is not shown again.`),
        pre(created.key, { class: 'api-key' }),
      );
      await draw();
    });
  });
  card.append(
    h(
      'p',
      { class: 'muted' },
      'Keys sign requests in as you (Authorization: Bearer …), with your permissions.',
    ),
    errorBox(),
    form,
    shown,
    list,
  );
  await draw();
  return h('section', {}, heading('API keys'), card);
}
