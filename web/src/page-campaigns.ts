/**
 * Campaigns: the list and a new campaign; a campaign's bindings (which integrations run on which
 * call events); an integration campaign's settings, start/pause/resume/stop, live progress and
 * per-contact results.
 */
import { api, query, type Page } from './api.js';
import { badge, h, replace, when } from './dom.js';
import { busy, errorBox, field, input, select } from './forms.js';
import { can, go, heading, link, pager, poll, type PageContext } from './shell.js';
import {
  CALL_STATUSES,
  DELIVERY_STATUSES,
  EVENT_TYPES,
  type Binding,
  type Campaign,
  type CampaignResult,
  type ContactList,
  type Integration,
} from './types.js';

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

/** A select over `items`, or a text input for an id when there is nothing to choose from. */
function chooser(
  name: string,
  items: { id: string; name: string }[],
  value: string | null | undefined,
  none: string,
): HTMLElement {
  if (items.length === 0) return input(name, value ?? '', { placeholder: 'id' });
  const control = h(
    'select',
    { name },
    h('option', { value: '' }, none),
    items.map((i) => h('option', { value: i.id }, i.name)),
  );
  control.value = value ?? '';
  return control;
}

function progressView(campaign: Campaign): HTMLElement | null {
  const p = campaign.progress;
  if (p === undefined) return null;
  const done = p.succeeded + p.failed + p.cancelled;
  return h(
    'div',
    { class: 'progress' },
    h('progress', { max: Math.max(p.total, 1), value: done }),
    h(
      'span',
      {},
      ` ${done} of ${p.total} done · `,
      h('span', { class: 'ok' }, `${p.succeeded} succeeded`),
      ' · ',
      h('span', { class: 'bad' }, `${p.failed} failed`),
      ` · ${p.pending} pending · ${p.cancelled} cancelled`,
    ),
  );
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
  const showRun = () => (runFields.hidden = typeSelect.value !== 'integration');
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
        ...(type === 'integration'
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
function bindingsEditor(
  path: string,
  initial: Binding[],
  integrations: Integration[],
): HTMLElement {
  const form = h('form', { class: 'card bindings', novalidate: true });
  const rows = h('div', { class: 'binding-rows' });
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
    const row = h(
      'div',
      { class: 'binding-row', 'data-field': `bindings.${index}` },
      field(
        'Integration',
        chooser('integrationId', integrations, binding?.integrationId, 'choose an integration'),
        `bindings.${index}.integrationId`,
      ),
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
      h('button', { type: 'button', class: 'link', onclick: () => row.remove() }, 'Remove'),
    );
    rows.appendChild(row);
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

const ACTIONS: Record<string, string[]> = {
  idle: ['start'],
  running: ['pause', 'stop'],
  paused: ['resume', 'stop'],
  stopped: [],
  completed: [],
};

/** An integration campaign's settings, controls and live progress (polled while shown). */
function runPanel(
  context: PageContext,
  initial: Campaign,
  integrations: Integration[],
  lists: ContactList[],
): HTMLElement {
  const path = `/campaigns/${encodeURIComponent(initial.id)}`;
  const panel = h('div', { class: 'card run' });
  const status = h('div', { class: 'run-status' });
  const controls = h('div', { class: 'actions run-controls' });
  let campaign = initial;
  const draw = () => {
    replace(
      status,
      h(
        'p',
        {},
        'State: ',
        badge(campaign.state ?? 'idle'),
        campaign.stopReason ? h('span', { class: 'bad' }, ` ${campaign.stopReason}`) : null,
        campaign.startedAt
          ? h('span', { class: 'muted' }, ` · started ${when(campaign.startedAt)}`)
          : null,
        campaign.finishedAt
          ? h('span', { class: 'muted' }, ` · finished ${when(campaign.finishedAt)}`)
          : null,
      ),
      progressView(campaign),
    );
    replace(
      controls,
      (ACTIONS[campaign.state ?? 'idle'] ?? []).map((action) => {
        const button = h(
          'button',
          { type: 'button', class: action === 'stop' ? 'danger' : undefined },
          action[0]!.toUpperCase() + action.slice(1),
        );
        button.addEventListener('click', () => {
          if (
            action === 'stop' &&
            !window.confirm('Stop for good? What was not sent is cancelled.')
          )
            return;
          void busy(panel, button, async () => {
            campaign = await api<Campaign>('POST', `${path}/${action}`);
            draw();
          });
        });
        return button;
      }),
    );
  };
  const settings = h('form', { class: 'run-settings', novalidate: true });
  const save = h('button', { type: 'submit', class: 'secondary' }, 'Save settings');
  settings.append(
    h(
      'div',
      { class: 'grid' },
      field(
        'Contact list',
        chooser('contactListId', lists, initial.contactListId, 'choose a list'),
        'contactListId',
      ),
      field(
        'Integration',
        chooser('integrationId', integrations, initial.integrationId, 'choose an integration'),
        'integrationId',
      ),
      field(
        'Rate per second',
        input('ratePerSecond', initial.ratePerSecond ?? '', { inputmode: 'decimal' }),
        'ratePerSecond',
      ),
    ),
    h('div', { class: 'actions' }, save),
  );
  settings.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(panel, save, async () => {
      const data = new FormData(settings);
      const text = (name: string) => String(data.get(name) ?? '').trim();
      const rate = text('ratePerSecond');
      campaign = await api<Campaign>('PATCH', path, {
        contactListId: text('contactListId') || null,
        integrationId: text('integrationId') || null,
        ratePerSecond: rate === '' ? null : Number.isNaN(Number(rate)) ? rate : Number(rate),
      });
      draw();
    });
  });
  panel.append(h('h2', {}, 'Run'), errorBox(), status, controls, settings);
  draw();
  poll(context, 1500, async () => {
    campaign = await api<Campaign>('GET', path);
    draw();
  });
  return panel;
}

/** Each contact's result, in list order, filtered by status, with paging and the CSV export. */
function resultsPanel(path: string): HTMLElement {
  const panel = h('div', { class: 'card results' });
  const out = h('div');
  const statusSelect = select('status', ['', ...DELIVERY_STATUSES], '');
  const load = async () => {
    const status = statusSelect.value;
    const first = await api<Page<CampaignResult>>(
      'GET',
      `${path}/results${query({ limit: 50, status })}`,
    );
    const body = h('tbody');
    const addRows = (items: CampaignResult[]) => {
      for (const r of items) {
        body.appendChild(
          h(
            'tr',
            {},
            h('td', {}, r.contactId),
            h('td', {}, r.phone),
            h('td', {}, [r.firstName, r.lastName].filter((n) => n !== null).join(' ')),
            h('td', {}, badge(r.status)),
            h('td', {}, String(r.attempts)),
            h('td', {}, r.lastStatus === null ? '' : String(r.lastStatus)),
            h('td', { class: 'error-text' }, r.lastError ?? ''),
            h(
              'td',
              {},
              r.deliveryId === null ? '' : link(`/deliveries/${r.deliveryId}`, 'delivery'),
            ),
          ),
        );
      }
    };
    addRows(first.items);
    replace(
      out,
      first.items.length === 0
        ? h('p', { class: 'muted' }, 'No result yet.')
        : h(
            'table',
            {},
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                [
                  'Contact',
                  'Phone',
                  'Name',
                  'Status',
                  'Attempts',
                  'Last status',
                  'Last error',
                  '',
                ].map((t) => h('th', {}, t)),
              ),
            ),
            body,
          ),
      pager(async (cursor) => {
        const next = await api<Page<CampaignResult>>(
          'GET',
          `${path}/results${query({ limit: 50, status, cursor })}`,
        );
        addRows(next.items);
        return next.nextCursor;
      }, first.nextCursor),
    );
  };
  const refresh = h('button', { type: 'button', class: 'secondary' }, 'Refresh');
  refresh.addEventListener('click', () => void busy(panel, refresh, load));
  statusSelect.addEventListener('change', () => void busy(panel, null, load));
  panel.append(
    h('h2', {}, 'Results'),
    errorBox(),
    h(
      'div',
      { class: 'actions' },
      h('label', {}, 'Status ', statusSelect),
      refresh,
      h(
        'a',
        { class: 'button secondary', href: `/api/v1${path}/results?format=csv`, download: '' },
        'Export CSV',
      ),
    ),
    out,
  );
  void busy(panel, null, load);
  return panel;
}
