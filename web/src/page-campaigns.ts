/**
 * Campaigns: the list and a new campaign; a campaign's bindings (which integrations run on which
 * call events); an integration campaign's settings, start/pause/resume/stop, live progress and
 * per-contact results.
 */
import { api, query, type Page } from './api.js';
import { badge, h, when } from './dom.js';
import { busy, chooser, errorBox, field, input, select } from './forms.js';
import { can, go, heading, link, pager, type PageContext } from './shell.js';
import type { Binding, Campaign, ContactList, Integration } from './types.js';
import { bindingsEditor } from './campaign-bindings.js';
import { progressView, resultsPanel, runPanel } from './campaign-run.js';

/** The integrations and contact lists to choose from, when the user may read them. */
async function choices(
  context: PageContext,
): Promise<{ integrations: Integration[]; lists: ContactList[] }> {
  const [integrations, lists] = await Promise.all([
    can(context.me, 'integration')
      ? api<Page<Integration>>('GET', '/integrations?limit=500').then((p) => p.items)
      : Promise.resolve([]),
    can(context.me, 'contact')
      ? api<Page<ContactList>>('GET', '/contact-lists?limit=500').then((p) => p.items)
      : Promise.resolve([]),
  ]);
  return { integrations, lists };
}

export async function campaignsList(context: PageContext): Promise<HTMLElement> {
  const [first, { integrations, lists }] = await Promise.all([
    api<Page<Campaign>>('GET', `/campaigns${query({ limit: 50 })}`),
    choices(context),
  ]);
  const body = h('tbody');
  const addRows = (items: Campaign[]) => {
    for (const c of items) {
      body.appendChild(
        h(
          'tr',
          {},
          h('td', {}, link(`/campaigns/${encodeURIComponent(c.id)}`, c.name)),
          h('td', {}, c.id),
          h('td', {}, c.type),
          h('td', {}, c.state === undefined ? '' : badge(c.state)),
          h('td', {}, progressView(c)),
        ),
      );
    }
  };
  addRows(first.items);
  const more = pager(async (cursor) => {
    const next = await api<Page<Campaign>>('GET', `/campaigns${query({ limit: 50, cursor })}`);
    addRows(next.items);
    return next.nextCursor;
  }, first.nextCursor);

  const form = h('form', { class: 'card new-campaign', novalidate: true });
  const typeSelect = select('type', ['voice', 'ivr', 'integration'], 'voice');
  const runFields = h(
    'div',
    { class: 'grid' },
    field('Contact list', chooser('contactListId', lists, null, 'choose a list'), 'contactListId'),
    field(
      'Integration',
      chooser('integrationId', integrations, null, 'choose an integration'),
      'integrationId',
    ),
    field(
      'Rate per second',
      input('ratePerSecond', '1', { inputmode: 'decimal' }),
      'ratePerSecond',
    ),
  );
  // An integration campaign's list, integration and rate need the `integration` permission
  // too: without it, one is created without them (someone with it sets them later).
  const mayRun = can(context.me, 'integration');
  const showRun = () => (runFields.hidden = !mayRun || typeSelect.value !== 'integration');
  typeSelect.addEventListener('change', showRun);
  showRun();
  const create = h('button', { type: 'submit' }, 'Create campaign');
  form.append(
    h('h2', {}, 'New campaign'),
    errorBox(),
    h(
      'div',
      { class: 'grid' },
      field('Name', input('name'), 'name'),
      field('Id', input('id', '', { placeholder: 'the dialer’s id (optional)' }), 'id'),
      field('Type', typeSelect, 'type'),
    ),
    runFields,
    h('div', { class: 'actions' }, create),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(form, create, async () => {
      const data = new FormData(form);
      const text = (name: string) => String(data.get(name) ?? '').trim();
      const type = text('type');
      const rate = text('ratePerSecond');
      const created = await api<Campaign>('POST', '/campaigns', {
        name: text('name'),
        type,
        ...(text('id') === '' ? {} : { id: text('id') }),
        ...(type === 'integration' && mayRun
          ? {
              ...(text('contactListId') === '' ? {} : { contactListId: text('contactListId') }),
              ...(text('integrationId') === '' ? {} : { integrationId: text('integrationId') }),
              ...(rate === ''
                ? {}
                : { ratePerSecond: Number.isNaN(Number(rate)) ? rate : Number(rate) }),
            }
          : {}),
      });
      go(`/campaigns/${encodeURIComponent(created.id)}`);
    });
  });
  return h(
    'section',
    {},
    heading('Campaigns'),
    first.items.length === 0
      ? h('p', { class: 'muted empty' }, 'No campaign yet.')
      : h(
          'table',
          { class: 'campaigns' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Name', 'Id', 'Type', 'State', 'Progress'].map((t) => h('th', {}, t)),
            ),
          ),
          body,
        ),
    more,
    form,
  );
}

export async function campaignDetail(context: PageContext): Promise<HTMLElement> {
  const id = context.params[0] ?? '';
  const path = `/campaigns/${encodeURIComponent(id)}`;
  const [campaign, bindings, { integrations, lists }] = await Promise.all([
    api<Campaign>('GET', path),
    api<{ bindings: Binding[] }>('GET', `${path}/bindings`),
    choices(context),
  ]);
  const parts: (HTMLElement | null)[] = [];
  if (campaign.type === 'integration') {
    parts.push(runPanel(context, campaign, integrations, lists));
    if (can(context.me, 'integration')) parts.push(resultsPanel(path));
  }
  parts.push(bindingsEditor(path, bindings.bindings, integrations), settingsPanel(path, campaign));
  return h(
    'section',
    {},
    heading(
      `Campaign: ${campaign.name}`,
      link('/campaigns', 'All campaigns', { class: 'button secondary' }),
    ),
    h(
      'p',
      { class: 'muted' },
      `${campaign.type} · id ${campaign.id} · created ${when(campaign.createdAt)}`,
    ),
    parts,
  );
}

function settingsPanel(path: string, campaign: Campaign): HTMLElement {
  const form = h('form', { class: 'card', novalidate: true });
  const save = h('button', { type: 'submit' }, 'Rename');
  const remove = h('button', { type: 'button', class: 'danger' }, 'Delete campaign');
  form.append(
    h('h2', {}, 'Campaign'),
    errorBox(),
    field('Name', input('name', campaign.name), 'name'),
    h('div', { class: 'actions' }, save, remove),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(form, save, async () => {
      await api('PATCH', path, {
        name: form.querySelector<HTMLInputElement>('[name=name]')!.value,
      });
      go(`${path}?saved=${Date.now()}`);
    });
  });
  remove.addEventListener('click', () => {
    if (!window.confirm(`Delete the campaign "${campaign.name}"?`)) return;
    void busy(form, remove, async () => {
      await api('DELETE', path);
      go('/campaigns');
    });
  });
  return form;
}

/** The bindings: one row per integration, with the events and (optionally) call statuses it runs on. */
