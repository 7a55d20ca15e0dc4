/** Deliveries: the log with filters and paging, and one delivery with its attempts, retry, cancel. */
import { api, query, type Page } from './api.js';
import { badge, h, pre, replace, when } from './dom.js';
import { busy, chooser, errorBox, field, input, select } from './forms.js';
import { responseBody, responseEncodingOf, type ResponseEncoding } from './response-body.js';
import { go, heading, link, pager, poll, type PageContext } from './shell.js';
import {
  DELIVERY_STATUSES,
  type Attempt,
  type Delivery,
  type DeliveryDetail,
  type Integration,
} from './types.js';

const FILTERS = ['integrationId', 'status', 'kind', 'eventId', 'campaignId'] as const;

export async function deliveriesLog(context: PageContext): Promise<HTMLElement> {
  const filters = Object.fromEntries(
    FILTERS.map((name) => [name, context.query.get(name) ?? '']),
  ) as Record<(typeof FILTERS)[number], string>;
  const [first, integrations] = await Promise.all([
    api<Page<Delivery>>('GET', `/deliveries${query({ ...filters, limit: 50 })}`),
    api<Page<Integration>>('GET', '/integrations?limit=500'),
  ]);
  const names = new Map(integrations.items.map((i) => [i.id, i.name]));
  const body = h('tbody');
  const addRows = (items: Delivery[]) => {
    for (const d of items) {
      body.appendChild(
        h(
          'tr',
          {},
          h('td', {}, link(`/deliveries/${d.id}`, when(d.createdAt))),
          h(
            'td',
            {},
            badge(d.status),
            d.waiting ? h('small', { class: 'muted' }, ' waiting') : null,
          ),
          h(
            'td',
            {},
            link(`/integrations/${d.integrationId}`, names.get(d.integrationId) ?? d.integrationId),
          ),
          h('td', {}, d.kind),
          h('td', {}, d.eventId ?? d.contactId ?? ''),
          h('td', {}, String(d.attempts)),
          h('td', {}, d.lastStatus === null ? '' : String(d.lastStatus)),
          h('td', { class: 'error-text' }, d.lastError ?? ''),
        ),
      );
    }
  };
  addRows(first.items);
  const form = h('form', { class: 'filters', novalidate: true });
  // One filtered on that is not among the 500 read stays chosen, by its id.
  const integrationSelect = chooser(
    'integrationId',
    integrations.items,
    filters.integrationId,
    'any integration',
  );
  form.append(
    errorBox(),
    field('Integration', integrationSelect, 'integrationId'),
    field('Status', select('status', ['', ...DELIVERY_STATUSES], filters.status), 'status'),
    field('Kind', select('kind', ['', 'event', 'campaign', 'ivr'], filters.kind), 'kind'),
    field('Event id', input('eventId', filters.eventId), 'eventId'),
    field('Campaign id', input('campaignId', filters.campaignId), 'campaignId'),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Filter')),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const chosen = Object.fromEntries(FILTERS.map((name) => [name, String(data.get(name) ?? '')]));
    go(`/deliveries${query(chosen)}`);
  });
  const more = pager(async (cursor) => {
    const next = await api<Page<Delivery>>(
      'GET',
      `/deliveries${query({ ...filters, limit: 50, cursor })}`,
    );
    addRows(next.items);
    return next.nextCursor;
  }, first.nextCursor);
  return h(
    'section',
    {},
    heading('Deliveries'),
    form,
    first.items.length === 0
      ? h('p', { class: 'muted empty' }, 'No delivery matches.')
      : h(
          'table',
          { class: 'deliveries' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              [
                'Created',
                'Status',
                'Integration',
                'Kind',
                'Event / contact',
                'Attempts',
                'Last status',
                'Last error',
              ].map((t) => h('th', {}, t)),
            ),
          ),
          body,
        ),
    more,
  );
}

interface Exchange {
  method?: string;
  url?: string;
  status?: number;
  headers?: [string, string][];
  body?: string | null;
  /** The body was longer than the first 64 KiB kept (an attempt's log names it so). */
  bodyTruncated?: boolean;
  /** Why the body could not be decoded (its Content-Encoding). */
  bodyError?: string;
}

/**
 * A request or a response as an attempt's log holds it; a response's body as `encoding` (its
 * integration's response encoding) reads it.
 */
function exchange(title: string, value: unknown, encoding?: ResponseEncoding): HTMLElement | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object') return h('div', {}, h('h4', {}, title), pre(String(value)));
  const e = value as Exchange;
  const first =
    e.method !== undefined
      ? `${e.method} ${e.url ?? ''}`
      : e.status !== undefined
        ? `HTTP ${e.status}`
        : '';
  const headers = Array.isArray(e.headers)
    ? e.headers.map(([n, v]) => `${n}: ${v}`).join('\n')
    : '';
  const isResponse = e.status !== undefined;
  return h(
    'div',
    { class: 'exchange-part' },
    h('h4', {}, title),
    pre([first, headers].filter((p) => p !== '').join('\n')),
    typeof e.bodyError === 'string' ? h('p', { class: 'bad' }, e.bodyError) : null,
    typeof e.body !== 'string'
      ? null
      : isResponse
        ? responseBody(e.body, encoding, e.bodyTruncated === true)
        : pre(e.body),
  );
}

/**
 * What an IVR invocation's logged response says beyond the exchange (docs/ivr.md "Logging"): the
 * invocation whose request it was, when the answer was shared or cached; an answer that came
 * after the deadline, which the caller did not get.
 */
function ivrNotes(response: unknown): HTMLElement[] {
  if (typeof response !== 'object' || response === null) return [];
  const { cachedFrom, afterDeadline } = response as {
    cachedFrom?: unknown;
    afterDeadline?: unknown;
  };
  const notes: HTMLElement[] = [];
  if (typeof cachedFrom === 'string') {
    notes.push(
      h(
        'p',
        { class: 'muted ivr-shared' },
        'The answer of IVR invocation ',
        link(`/deliveries/${encodeURIComponent(cachedFrom)}`, cachedFrom),
        ' (cached, or its request shared while in flight): this invocation sent no request of its own.',
      ),
    );
  }
  if (afterDeadline === true) {
    notes.push(
      h(
        'p',
        { class: 'muted ivr-late' },
        'This answer came after the invocation’s deadline: its caller got a timeout, not this answer.',
      ),
    );
  }
  return notes;
}

function attemptView(attempt: Attempt, encoding: ResponseEncoding | undefined): HTMLElement {
  return h(
    'details',
    { class: 'attempt', open: true },
    h(
      'summary',
      {},
      `Attempt ${attempt.attempt} · ${when(attempt.at)} · `,
      badge(attempt.outcome),
      ` · ${Math.round(attempt.durationMs)} ms · version ${attempt.integrationVersion}`,
    ),
    attempt.error === null ? null : h('p', { class: 'bad' }, attempt.error),
    ivrNotes(attempt.response),
    h(
      'div',
      { class: 'exchange' },
      exchange('Request', attempt.request),
      exchange('Response', attempt.response, encoding),
    ),
  );
}

export async function deliveryDetail(context: PageContext): Promise<HTMLElement> {
  const id = context.params[0] ?? '';
  const path = `/deliveries/${encodeURIComponent(id)}`;
  const section = h('section', { class: 'delivery' });
  const form = h('div', { class: 'card' });
  let last: DeliveryDetail;
  const draw = (d: DeliveryDetail) => {
    const act = (button: HTMLButtonElement, action: 'retry' | 'cancel') =>
      void busy(form, button, async () => {
        await api<Delivery>('POST', `${path}/${action}`);
        last = await api<DeliveryDetail>('GET', path);
        draw(last);
      });
    const retry = h('button', { type: 'button' }, 'Retry now');
    retry.addEventListener('click', () => act(retry, 'retry'));
    const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    cancel.addEventListener('click', () => act(cancel, 'cancel'));
    replace(
      form,
      errorBox(),
      h(
        'dl',
        { class: 'facts' },
        [
          ['Status', badge(d.status)],
          [
            'Integration',
            link(`/integrations/${d.integrationId}`, integration?.name ?? d.integrationId),
          ],
          ['Kind', d.kind],
          ['Event', d.eventId ?? ''],
          ['Campaign', d.campaignId ?? ''],
          ['Contact', d.contactId ?? ''],
          ['Attempts', String(d.attempts)],
          [
            'Next attempt',
            d.status === 'pending'
              ? when(d.nextAttemptAt) +
                (d.waiting ? ' (waiting for an earlier delivery of the call)' : '')
              : '',
          ],
          ['Last error', d.lastError ?? ''],
          ['Created', when(d.createdAt)],
          ['Completed', when(d.completedAt)],
        ].map(([term, value]) => [
          h('dt', {}, term as string),
          h('dd', {}, value as string | HTMLElement),
        ]),
      ),
      h(
        'div',
        { class: 'actions' },
        // An IVR invocation is answered once, while the caller waits: the API never retries one.
        d.status === 'failed' && d.kind !== 'ivr' ? retry : null,
        d.status === 'pending' ? cancel : null,
      ),
      d.kind === 'ivr'
        ? h(
            'p',
            { class: 'muted ivr-once' },
            'An IVR invocation: run once while the caller waited, never retried.',
          )
        : null,
      h('h2', {}, 'Attempts'),
      d.attemptLog.length === 0
        ? h('p', { class: 'muted' }, 'No attempt yet.')
        : [...d.attemptLog].reverse().map((attempt) => attemptView(attempt, encoding)),
    );
  };
  last = await api<DeliveryDetail>('GET', path);
  // By its name; by its id when it cannot be read (deleted since). Its response encoding lays
  // out the responses (the current version's: an attempt made before a change reads as it now).
  const integration = await api<Integration>(
    'GET',
    `/integrations/${encodeURIComponent(last.integrationId)}`,
  ).catch(() => undefined);
  const encoding = integration === undefined ? undefined : responseEncodingOf(integration);
  draw(last);
  // A pending delivery is watched until it settles (a retry makes it pending again).
  // Drawn again only when it changed: a delivery waiting for its next try (minutes, hours) keeps
  // the attempts as the reader left them (opened, closed, text selected to copy).
  poll(context, 2000, async () => {
    if (last.status !== 'pending') return;
    const next = await api<DeliveryDetail>('GET', path);
    if (JSON.stringify(next) === JSON.stringify(last)) return;
    last = next;
    draw(last);
  });
  section.append(
    heading('Delivery', link('/deliveries', 'All deliveries', { class: 'button secondary' })),
    h('p', { class: 'muted' }, id),
    form,
  );
  return section;
}
