/**
 * Integrations: the list, and the form that creates and edits one (HTTP or SOAP, options), with
 * its test, replay and delete panels and the token catalog beside it.
 */
import { api, query, type Page as ListPage } from './api.js';
import { badge, h, valueOf, when } from './dom.js';
import { busy, errorBox, field, input, select, textarea } from './forms.js';
import { go, heading, link, pager, type PageContext } from './shell.js';
import type {
  HttpConfig,
  IntegrationHealth,
  Integration,
  IntegrationOptions,
  SoapConfig,
  TokenCatalog,
} from './types.js';
import { replayPanel } from './page-replay.js';
import { testPanel } from './integration-test.js';
import { responseEncodingOf } from './response-body.js';
import { soapEditor } from './soap-editor.js';
import { template, tokenList } from './templates.js';
import { optionsFieldset, readOptions } from './integration-options.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
const ENCODINGS = ['json', 'xml', 'text'] as const;

export async function integrationsList(): Promise<HTMLElement> {
  const body = h('tbody');
  const addRows = (items: Integration[]) => {
    for (const item of items) {
      body.appendChild(
        h(
          'tr',
          {},
          h('td', {}, link(`/integrations/${item.id}`, item.name || item.id)),
          h('td', {}, item.type.toUpperCase()),
          h(
            'td',
            {},
            item.enabled ? badge('enabled') : badge('disabled'),
            item.disabledReason ? h('small', { class: 'muted' }, ` ${item.disabledReason}`) : null,
          ),
          h('td', {}, String(item.version)),
          h('td', {}, when(item.updatedAt)),
          h('td', {}, link(`/deliveries?integrationId=${item.id}`, 'Deliveries')),
        ),
      );
    }
  };
  const first = await api<ListPage<Integration>>('GET', `/integrations${query({ limit: 50 })}`);
  addRows(first.items);
  const more = pager(async (cursor) => {
    const next = await api<ListPage<Integration>>(
      'GET',
      `/integrations${query({ limit: 50, cursor })}`,
    );
    addRows(next.items);
    return next.nextCursor;
  }, first.nextCursor);
  return h(
    'section',
    {},
    heading('Integrations', link('/integrations/new', 'New integration', { class: 'button' })),
    first.items.length === 0
      ? h('p', { class: 'muted empty' }, 'No integration yet.')
      : h(
          'table',
          { class: 'integrations' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Name', 'Type', 'State', 'Version', 'Updated', ''].map((t) => h('th', {}, t)),
            ),
          ),
          body,
        ),
    more,
  );
}

export async function integrationForm(context: PageContext): Promise<HTMLElement> {
  const id = context.params[0] ?? 'new';
  const creating = id === 'new';
  // Every save sends the ETag of what the form shows: an edit made meanwhile elsewhere (or an
  // auto-disable) answers 409 instead of being overwritten (docs/integrations.md).
  let etag: string | undefined;
  const keepTag = (tag: string) => (etag = tag);
  const [existing, catalog, health] = await Promise.all([
    creating
      ? Promise.resolve(undefined)
      : api<Integration>('GET', `/integrations/${encodeURIComponent(id)}`, undefined, {
          etag: keepTag,
        }),
    api<TokenCatalog>('GET', '/tokens'),
    creating
      ? Promise.resolve(undefined)
      : api<IntegrationHealth>('GET', `/integrations/${encodeURIComponent(id)}/health`),
  ]);
  const type = existing?.type ?? (context.query.get('type') === 'soap' ? 'soap' : 'http');
  const http: HttpConfig =
    existing?.type === 'http'
      ? (existing.config as HttpConfig)
      : {
          url: '',
          method: 'POST',
          body: '',
          headers: 'Content-Type: application/json',
          responseEncoding: 'json',
        };
  const soap: SoapConfig =
    existing?.type === 'soap'
      ? (existing.config as SoapConfig)
      : { wsdlUrl: '', operation: '', params: [], headers: '', responseEncoding: 'xml' };
  const options: Partial<IntegrationOptions> = existing?.options ?? {};

  // The version saved last: the test panel lays out its answers as it reads them.
  let saved = existing;
  const form = h('form', { class: 'card integration-form', novalidate: true });
  const typeSelect = select('type', ['http', 'soap'], type, { disabled: !creating });
  const httpSection = h(
    'fieldset',
    { class: 'http-config' },
    h('legend', {}, 'HTTP request'),
    field(
      'Remote URL',
      template(
        input('config.url', http.url, {
          placeholder: 'https://crm.example/calls?phone={{contact.phone}}',
        }),
      ),
      'config.url',
      'A template: tokens are percent-encoded where they land.',
    ),
    field('HTTP method', select('config.method', METHODS, http.method), 'config.method'),
    field(
      'Request data',
      template(textarea('config.body', http.body, { rows: 6 })),
      'config.body',
      'A template; ignored for GET. Escaping follows the Content-Type header.',
    ),
    field(
      'Request headers',
      template(textarea('config.headers', http.headers, { rows: 3 })),
      'config.headers',
      'One "Name: value" per line; values are templates. Secrets show as ••••, kept when saved unchanged.',
    ),
    field(
      'Response encoding',
      select('config.responseEncoding', ENCODINGS, http.responseEncoding),
      'config.responseEncoding',
    ),
  );
  const soapSection = soapEditor(soap);
  const showType = () => {
    httpSection.hidden = typeSelect.value !== 'http';
    soapSection.element.hidden = typeSelect.value !== 'soap';
  };
  typeSelect.addEventListener('change', showType);

  const optionsSection = optionsFieldset(options);

  const saveButton = h('button', { type: 'submit' }, creating ? 'Create' : 'Save');
  form.append(
    errorBox(),
    h('p', { class: 'form-note', role: 'status', hidden: true }),
    h(
      'div',
      { class: 'grid' },
      field('Name', input('name', existing?.name ?? '', { required: true }), 'name'),
      field('Type', typeSelect, 'type'),
      field('Description', input('description', existing?.description ?? ''), 'description'),
      field(
        'Enabled',
        h('input', { type: 'checkbox', name: 'enabled', checked: existing?.enabled ?? true }),
        'enabled',
        existing?.disabledReason ?? undefined,
      ),
    ),
    httpSection,
    soapSection.element,
    optionsSection,
    h('div', { class: 'actions' }, saveButton),
  );
  showType();

  const definition = () => {
    const opts = readOptions(form, options);
    const config =
      typeSelect.value === 'http'
        ? {
            url: valueOf(form, 'config.url'),
            method: valueOf(form, 'config.method'),
            body: valueOf(form, 'config.body'),
            headers: valueOf(form, 'config.headers'),
            responseEncoding: valueOf(form, 'config.responseEncoding'),
            // Not on the form: kept as stored.
            ...(http.maxRedirects === undefined ? {} : { maxRedirects: http.maxRedirects }),
          }
        : soapSection.config();
    return {
      name: valueOf(form, 'name'),
      description: valueOf(form, 'description'),
      enabled: form.querySelector<HTMLInputElement>('[name=enabled]')!.checked,
      config,
      options: opts,
    };
  };

  // Shown above the form, and set again by each save.
  const versionLine = h(
    'p',
    { class: 'muted version' },
    existing === undefined ? '' : versionText(existing),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(form, saveButton, async () => {
      if (creating) {
        const created = await api<Integration>('POST', '/integrations', {
          ...definition(),
          type: typeSelect.value,
        });
        go(`/integrations/${created.id}`);
      } else {
        saved = await api<Integration>(
          'PUT',
          `/integrations/${encodeURIComponent(id)}`,
          definition(),
          { ...(etag === undefined ? {} : { headers: { 'if-match': etag } }), etag: keepTag },
        );
        const note = form.querySelector<HTMLElement>('.form-note')!;
        note.textContent = `Saved: version ${saved.version}.`;
        note.hidden = false;
        // The page's title and version line say what is saved now.
        head.querySelector('h1')!.textContent = saved.name || id;
        versionLine.textContent = versionText(saved);
        // Why it was disabled, under Enabled, goes once it is enabled again.
        const why = form.querySelector('[data-field="enabled"] .hint');
        if (why !== null) why.textContent = saved.disabledReason ?? '';
      }
    });
  });

  const side = h('aside', { class: 'tokens' }, tokenList(catalog));
  const panels: HTMLElement[] = [];
  if (existing !== undefined) {
    const encoding = () => (saved === undefined ? undefined : responseEncodingOf(saved));
    panels.push(
      testPanel(existing.id, encoding),
      replayPanel(context, existing.id),
      dangerPanel(() => saved ?? existing),
    );
  }
  const head = heading(
    creating ? 'New integration' : existing?.name || id,
    existing === undefined
      ? null
      : link(`/deliveries?integrationId=${existing.id}`, 'Deliveries', {
          class: 'button secondary',
        }),
    link('/integrations', 'All integrations', { class: 'button secondary' }),
  );
  return h(
    'section',
    {},
    head,
    creating ? null : versionLine,
    health === undefined ? null : healthLine(health),
    h('div', { class: 'with-side' }, h('div', { class: 'main-col' }, form, panels), side),
  );
}

function versionText(integration: Integration): string {
  return `Version ${integration.version} · updated ${when(integration.updatedAt)}`;
}

/** Delete, asking first by the name saved last. */
function dangerPanel(current: () => Integration): HTMLElement {
  const panel = h('div', { class: 'card danger' });
  const button = h('button', { type: 'button', class: 'danger' }, 'Delete integration');
  button.addEventListener('click', () => {
    const integration = current();
    if (
      !window.confirm(
        `Delete "${integration.name}"? Its bindings go and pending deliveries are cancelled; the history stays.`,
      )
    )
      return;
    void busy(panel, button, async () => {
      await api('DELETE', `/integrations/${encodeURIComponent(integration.id)}`);
      go('/integrations');
    });
  });
  panel.append(errorBox(), button);
  return panel;
}

/** Its deliveries at a glance: what waits and is out, and the circuit when it is not closed. */
function healthLine(health: IntegrationHealth): HTMLElement {
  const parts = [`${health.pending} pending, ${health.inFlight} being sent`];
  if (health.circuit === 'open')
    parts.push(`circuit open: the next try goes at ${when(health.probeAt)}`);
  if (health.circuit === 'half-open') parts.push('circuit half-open: the next delivery is a probe');
  if (health.consecutiveFailures > 0)
    parts.push(
      `${health.consecutiveFailures} failures in a row since ${when(health.failingSince)}`,
    );
  return h(
    'p',
    { class: health.circuit === 'closed' ? 'muted health' : 'bad health' },
    `Deliveries: ${parts.join(' · ')}`,
  );
}
