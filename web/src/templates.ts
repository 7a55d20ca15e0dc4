/**
 * Template fields and the token catalog beside them: a token clicked in the list is inserted at
 * the cursor of the template field last used.
 */
import { h, replace } from './dom.js';
import type { TokenCatalog } from './types.js';

/** The template field last focused: a token picked in the list goes there, at the cursor. */
let lastTemplate: HTMLInputElement | HTMLTextAreaElement | null = null;

export function template<T extends HTMLInputElement | HTMLTextAreaElement>(control: T): T {
  control.classList.add('template');
  control.addEventListener('focus', () => (lastTemplate = control));
  return control;
}

function insertToken(token: string): void {
  const target = lastTemplate;
  if (target === null || !target.isConnected) return;
  const text = `{{${token}}}`;
  const start = target.selectionStart ?? target.value.length;
  const end = target.selectionEnd ?? start;
  target.setRangeText(text, start, end, 'end');
  target.focus();
}

/** The token catalog: click a token to put it at the cursor of the template field last used. */
export function tokenList(catalog: TokenCatalog): HTMLElement {
  const filter = h('input', {
    type: 'search',
    placeholder: 'Filter tokens',
    'aria-label': 'Filter tokens',
  });
  const list = h('div', { class: 'token-groups' });
  const draw = () => {
    const words = filter.value.trim().toLowerCase();
    replace(
      list,
      catalog.groups.map((group) => {
        const tokens = catalog.items.filter(
          (t) =>
            t.group === group.name &&
            (words === '' || `${t.token} ${t.description}`.toLowerCase().includes(words)),
        );
        if (tokens.length === 0) return null;
        return h(
          'details',
          { open: words !== '' || group.name === 'call' || group.name === 'contact' },
          h('summary', { title: group.description }, group.name),
          h(
            'ul',
            {},
            tokens.map((t) =>
              h(
                'li',
                {},
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'token',
                    title: `${t.description} Example: ${JSON.stringify(t.example)}`,
                    onclick: () => insertToken(t.token.replace(/<[^>]*>/, 'name')),
                  },
                  `{{${t.token}}}`,
                ),
                h('small', { class: 'muted' }, ` ${t.type}`),
              ),
            ),
          ),
        );
      }),
      h(
        'details',
        {},
        h('summary', {}, 'filters'),
        h(
          'ul',
          {},
          catalog.filters.map((f) =>
            h(
              'li',
              {},
              h('code', {}, `| ${f.name}${f.args ? `:${f.args}` : ''}`),
              h('small', { class: 'muted' }, ` ${f.description}`),
            ),
          ),
        ),
      ),
    );
  };
  filter.addEventListener('input', draw);
  draw();
  return h(
    'div',
    {},
    h('h2', {}, 'Tokens'),
    h('p', { class: 'muted' }, 'Click one to insert it where the cursor was.'),
    filter,
    list,
  );
}
