/**
 * Integrations: the list, and the form that creates and edits one (HTTP or SOAP, options), with
 * its test, replay and delete panels and the token catalog beside it.
 */
import { api, query, type Page as ListPage } from './api.js';
import { badge, h, localZone, valueOf, when } from './dom.js';
import { busy, errorBox, field, input, select, textarea } from './forms.js';
import { go, heading, link, pager, type PageContext } from './shell.js';
import type {
  HttpConfig,
  Integration,
  IntegrationOptions,
  SoapConfig,
  TokenCatalog,
} from './types.js';
import { replayPanel } from './page-replay.js';
import { testPanel } from './integration-test.js';
import { soapEditor } from './soap-editor.js';
import { template, tokenList } from './templates.js';

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

/** A number from a form control: undefined when empty, the text itself (for the API to refuse) when not a number. */
function num(text: string): number | string | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  return /^-?\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : trimmed;
}

/** `200, 201` → [200, 201]; a part that is not a number is kept as text for the API to name. */
function numList(text: string): (number | string)[] | undefined {
  const parts = text.split(/[\s,]+/).filter((p) => p !== '');
  return parts.length === 0 ? undefined : parts.map((p) => num(p) ?? p);
}

function defined(entries: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined));
}

export async function integrationForm(context: PageContext): Promise<HTMLElement> {
  const id = context.params[0] ?? 'new';
  const creating = id === 'new';
  // Every save sends the ETag of what the form shows: an edit made meanwhile elsewhere (or an
  // auto-disable) answers 409 instead of being overwritten (docs/integrations.md).
  let etag: string | undefined;
  const keepTag = (tag: string) => (etag = tag);
  const [existing, catalog] = await Promise.all([
    creating
      ? Promise.resolve(undefined)
      : api<Integration>('GET', `/integrations/${encodeURIComponent(id)}`, undefined, {
          etag: keepTag,
        }),
    api<TokenCatalog>('GET', '/tokens'),
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

  const optionsSection = h(
    'fieldset',
    { class: 'options' },
    h('legend', {}, 'Options'),
    h(
      'div',
      { class: 'grid' },
      field(
        'Timeout (ms)',
        input('options.timeoutMs', options.timeoutMs ?? '', {
          inputmode: 'numeric',
          placeholder: '10000',
        }),
        'options.timeoutMs',
      ),
      field(
        'Max attempts',
        input('options.retry.maxAttempts', options.retry?.maxAttempts ?? '', {
          inputmode: 'numeric',
          placeholder: '8',
        }),
        'options.retry.maxAttempts',
      ),
      field(
        'Retry schedule (s)',
        input('options.retry.scheduleSeconds', (options.retry?.scheduleSeconds ?? []).join(', '), {
          placeholder: '0, 5, 300, 1800',
        }),
        'options.retry.scheduleSeconds',
        'Delay before attempt 2, 3, …',
      ),
      field(
        'Max concurrency',
        input('options.maxConcurrency', options.maxConcurrency ?? '', { inputmode: 'numeric' }),
        'options.maxConcurrency',
      ),
      field(
        'Rate per second',
        input('options.ratePerSecond', options.ratePerSecond ?? '', { inputmode: 'decimal' }),
        'options.ratePerSecond',
      ),
      field(
        'Success statuses',
        input('options.successStatuses', (options.successStatuses ?? []).join(', '), {
          placeholder: 'any 2xx',
        }),
        'options.successStatuses',
      ),
      field(
        'Signing secret',
        // Shown as dots, like the stored one (••••): a secret typed in is not left on screen.
        input('options.signing.secret', options.signing?.secret ?? '', {
          type: 'password',
          placeholder: 'whsec_…',
          autocomplete: 'new-password',
        }),
        'options.signing.secret',
        'Standard Webhooks signature headers on every request.',
      ),
      options.signing === undefined
        ? null
        : field(
            'Rotate: old secret valid until',
            input('options.signing.previousExpiresAt', '', { type: 'datetime-local' }),
            'options.signing.previousExpiresAt',
            [
              `With a new secret: requests carry both signatures until then (${localZone()} time).`,
              options.signing.previousExpiresAt === undefined
                ? ''
                : ` The old secret now signs too until ${when(options.signing.previousExpiresAt)}.`,
            ],
          ),
      field(
        'IVR cache TTL (s)',
        input('options.cacheTtlSeconds', options.cacheTtlSeconds ?? '', { inputmode: 'numeric' }),
        'options.cacheTtlSeconds',
      ),
    ),
    field(
      'Response variables',
      textarea(
        'options.responseVariables',
        (options.responseVariables ?? [])
          .map((v) => [v.name, v.path, v.default].filter((p) => p !== undefined).join(' '))
          .join('\n'),
        { rows: 3, placeholder: 'balance customer.balance 0' },
      ),
      'options.responseVariables',
      'One per line: name, path, and an optional default.',
    ),
  );

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
    const responseVariables = valueOf(form, 'options.responseVariables')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '')
      .map((line) => {
        const [name = '', path = '', ...rest] = line.split(/\s+/);
        return rest.length === 0 ? { name, path } : { name, path, default: rest.join(' ') };
      });
    const maxAttempts = num(valueOf(form, 'options.retry.maxAttempts'));
    const scheduleSeconds = numList(valueOf(form, 'options.retry.scheduleSeconds'));
    const retry =
      maxAttempts === undefined && scheduleSeconds === undefined
        ? undefined
        : defined({ maxAttempts: maxAttempts ?? options.retry?.maxAttempts ?? 8, scheduleSeconds });
    const secret = valueOf(form, 'options.signing.secret').trim();
    const rotateUntil = valueOf(form, 'options.signing.previousExpiresAt');
    const signing =
      secret === ''
        ? undefined
        : secret === options.signing?.secret || rotateUntil === ''
          ? // unchanged (a rotation under way stays), or a new secret that replaces the old at once
            { ...(secret === options.signing?.secret ? options.signing : {}), secret }
          : // the masked old secret stays valid beside the new one until then (docs/delivery.md)
            {
              secret,
              previousSecret: options.signing?.secret ?? '',
              previousExpiresAt: new Date(rotateUntil).toISOString(),
            };
    const opts = defined({
      timeoutMs: num(valueOf(form, 'options.timeoutMs')),
      retry,
      maxConcurrency: num(valueOf(form, 'options.maxConcurrency')),
      ratePerSecond: num(valueOf(form, 'options.ratePerSecond')),
      successStatuses: numList(valueOf(form, 'options.successStatuses')),
      signing,
      cacheTtlSeconds: num(valueOf(form, 'options.cacheTtlSeconds')),
      responseVariables,
    });
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
        const saved = await api<Integration>(
          'PUT',
          `/integrations/${encodeURIComponent(id)}`,
          definition(),
          { ...(etag === undefined ? {} : { headers: { 'if-match': etag } }), etag: keepTag },
        );
        const note = form.querySelector<HTMLElement>('.form-note')!;
        note.textContent = `Saved: version ${saved.version}.`;
        note.hidden = false;
      }
    });
  });

  const side = h('aside', { class: 'tokens' }, tokenList(catalog));
  const panels: HTMLElement[] = [];
  if (existing !== undefined) {
    panels.push(testPanel(existing.id), replayPanel(context, existing.id), dangerPanel(existing));
  }
  return h(
    'section',
    {},
    heading(
      creating ? 'New integration' : existing?.name || id,
      existing === undefined
        ? null
        : link(`/deliveries?integrationId=${existing.id}`, 'Deliveries', {
            class: 'button secondary',
          }),
      link('/integrations', 'All integrations', { class: 'button secondary' }),
    ),
    creating
      ? null
      : h(
          'p',
          { class: 'muted' },
          `Version ${existing?.version ?? ''} · updated ${when(existing?.updatedAt)}`,
        ),
    h('div', { class: 'with-side' }, h('div', { class: 'main-col' }, form, panels), side),
  );
}

function dangerPanel(integration: Integration): HTMLElement {
  const panel = h('div', { class: 'card danger' });
  const button = h('button', { type: 'button', class: 'danger' }, 'Delete integration');
  button.addEventListener('click', () => {
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
