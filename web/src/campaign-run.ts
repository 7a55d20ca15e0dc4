/** An integration campaign's run: settings, start/pause/resume/stop, live progress, results. */
import { api, query, type Page } from './api.js';
import { append, badge, h, replace, when } from './dom.js';
import { busy, chooser, errorBox, field, input, select, showNote } from './forms.js';
import { can, link, pager, poll, type PageContext } from './shell.js';
import {
  DELIVERY_STATUSES,
  type Campaign,
  type CampaignResult,
  type ContactList,
  type Integration,
  type Progress,
} from './types.js';

/**
 * Done of total, and each count: one element whose figures `update` sets in place, so a page that
 * follows a campaign changes numbers, not elements.
 */
function progressFigures(): { element: HTMLElement; update(progress: Progress): void } {
  const bar = h('progress', { max: 1, value: 0 });
  const done = document.createTextNode('');
  const succeeded = h('span', { class: 'ok' });
  const failed = h('span', { class: 'bad' });
  const rest = document.createTextNode('');
  return {
    element: h(
      'div',
      { class: 'progress' },
      bar,
      h('span', {}, done, succeeded, ' · ', failed, rest),
    ),
    update(p) {
      const count = p.succeeded + p.failed + p.cancelled;
      bar.max = Math.max(p.total, 1);
      bar.value = count;
      done.data = ` ${count} of ${p.total} done · `;
      succeeded.textContent = `${p.succeeded} succeeded`;
      failed.textContent = `${p.failed} failed`;
      rest.data = ` · ${p.pending} pending · ${p.cancelled} cancelled`;
    },
  };
}

/** Done of total, and each count. */
export function progressView(campaign: Campaign): HTMLElement | null {
  if (campaign.progress === undefined) return null;
  const figures = progressFigures();
  figures.update(campaign.progress);
  return figures.element;
}

const ACTIONS: Record<string, string[]> = {
  idle: ['start'],
  running: ['pause', 'stop'],
  paused: ['resume', 'stop'],
  stopped: [],
  completed: [],
};

/**
 * An integration campaign's settings, controls and live progress (polled while shown). Its
 * settings and controls need the `integration` permission too: without it, the progress alone.
 */
export function runPanel(
  context: PageContext,
  initial: Campaign,
  integrations: Integration[],
  lists: ContactList[],
): HTMLElement {
  const mayRun = can(context.me, 'integration');
  const path = `/campaigns/${encodeURIComponent(initial.id)}`;
  const panel = h('div', { class: 'card run' });
  const stateLine = h('p');
  const figures = progressFigures();
  const status = h('div', { class: 'run-status' }, stateLine, figures.element);
  const controls = h('div', { class: 'actions run-controls' });
  let campaign = initial;
  // What is drawn, to draw again only what changed: the progress poll every 1.5 s must not
  // replace the buttons under the user's pointer (a click would land on a new button, or none).
  let drawnState: string | undefined;
  let drawnLine: string | undefined;
  // Counts the answers of the user's changes (a button, the settings): a poll sent before one
  // came may answer the state before it and is not drawn.
  let changes = 0;
  const changed = (next: Campaign) => {
    changes += 1;
    campaign = next;
    draw();
  };
  const draw = () => {
    const state = campaign.state ?? 'idle';
    const line = JSON.stringify([
      state,
      campaign.stopReason,
      campaign.startedAt,
      campaign.finishedAt,
    ]);
    if (line !== drawnLine) {
      drawnLine = line;
      replace(
        stateLine,
        'State: ',
        badge(state),
        campaign.stopReason ? h('span', { class: 'bad' }, ` ${campaign.stopReason}`) : null,
        campaign.startedAt
          ? h('span', { class: 'muted' }, ` · started ${when(campaign.startedAt)}`)
          : null,
        campaign.finishedAt
          ? h('span', { class: 'muted' }, ` · finished ${when(campaign.finishedAt)}`)
          : null,
      );
    }
    figures.element.hidden = campaign.progress === undefined;
    if (campaign.progress !== undefined) figures.update(campaign.progress);
    if (!mayRun || state === drawnState) return;
    drawnState = state;
    replace(
      controls,
      (ACTIONS[state] ?? []).map((action) => {
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
            changed(await api<Campaign>('POST', `${path}/${action}`));
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
  const note = h('p', { class: 'form-note', role: 'status', hidden: true });
  settings.addEventListener('submit', (event) => {
    event.preventDefault();
    note.hidden = true;
    void busy(panel, save, async () => {
      const data = new FormData(settings);
      const text = (name: string) => String(data.get(name) ?? '').trim();
      const rate = text('ratePerSecond');
      changed(
        await api<Campaign>('PATCH', path, {
          contactListId: text('contactListId') || null,
          integrationId: text('integrationId') || null,
          ratePerSecond: rate === '' ? null : Number.isNaN(Number(rate)) ? rate : Number(rate),
        }),
      );
      showNote(panel, 'Settings saved.');
    });
  });
  append(panel, [
    h('h2', {}, 'Run'),
    errorBox(),
    note,
    status,
    mayRun
      ? [controls, settings]
      : h(
          'p',
          { class: 'muted no-permission' },
          'Starting, pausing or stopping it, and its list, integration and rate, need the "integration" permission.',
        ),
  ]);
  draw();
  poll(context, 1500, async () => {
    const before = changes;
    const read = await api<Campaign>('GET', path);
    if (before !== changes) return;
    campaign = read;
    draw();
  });
  return panel;
}

/** Each contact's result, in list order, filtered by status, with paging and the CSV export. */
export function resultsPanel(path: string): HTMLElement {
  const panel = h('div', { class: 'card results' });
  const out = h('div');
  const statusSelect = select('status', ['', ...DELIVERY_STATUSES], '');
  // Only the last load is shown: a status chosen while another's page was on its way must not
  // be overwritten by that page when it comes last.
  let loads = 0;
  const load = async () => {
    const turn = ++loads;
    const status = statusSelect.value;
    const first = await api<Page<CampaignResult>>(
      'GET',
      `${path}/results${query({ limit: 50, status })}`,
    );
    if (turn !== loads) return;
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
