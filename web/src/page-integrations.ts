/**
 * Integrations: the list, and the form that creates and edits one (HTTP or SOAP, options), tests
 * it (render, or render and send) and lists the tokens its templates may use.
 */
import { api, query, type Page as ListPage } from './api.js';
import { badge, h, pre, replace, valueOf, when } from './dom.js';
import { busy, errorBox, field, input, select, textarea } from './forms.js';
import { go, heading, link, pager, type PageContext } from './shell.js';
import type {
  HttpConfig,
  Integration,
  IntegrationOptions,
  SoapConfig,
  SoapDescription,
  SoapOperation,
  TestResult,
  TokenCatalog,
} from './types.js';
import { replayPanel } from './page-replay.js';

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

/** The template field last focused: a token picked in the list goes there, at the cursor. */
let lastTemplate: HTMLInputElement | HTMLTextAreaElement | null = null;

function template<T extends HTMLInputElement | HTMLTextAreaElement>(control: T): T {
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
  lastTemplate = null;
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
        input('options.signing.secret', options.signing?.secret ?? '', {
          placeholder: 'whsec_…',
          autocomplete: 'off',
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
            'With a new secret: requests carry both signatures until then.',
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

/** The SOAP part of the form: WSDL URL → describe → operation → parameters. */
function soapEditor(initial: SoapConfig): { element: HTMLElement; config: () => SoapConfig } {
  const wsdl = input('config.wsdlUrl', initial.wsdlUrl, { placeholder: 'http://erp.lan/ws?wsdl' });
  const operation = h(
    'select',
    { name: 'config.operation' },
    h('option', { value: initial.operation }, initial.operation || '(describe the WSDL first)'),
  );
  operation.value = initial.operation;
  let service = initial.service;
  let port = initial.port;
  let operations: { service: string; port: string; op: SoapOperation }[] = [];
  const rows = h('div', { class: 'params' });
  const addRow = (name = '', value = '', secret = false) => {
    const index = rows.children.length;
    const row = h(
      'div',
      { class: 'param-row', 'data-field': `config.params.${index}` },
      h(
        'div',
        { 'data-field': `config.params.${index}.name` },
        input('param-name', name, {
          placeholder: 'name (dotted for nested)',
          'aria-label': 'Parameter name',
        }),
      ),
      h(
        'div',
        { 'data-field': `config.params.${index}.value` },
        template(
          input('param-value', value, {
            placeholder: '{{contact.phone}}',
            'aria-label': 'Parameter value',
          }),
        ),
      ),
      h(
        'label',
        { class: 'inline' },
        h('input', { type: 'checkbox', name: 'param-secret', checked: secret }),
        ' secret',
      ),
      h('button', { type: 'button', class: 'link', onclick: () => row.remove() }, 'Remove'),
    );
    rows.appendChild(row);
  };
  for (const param of initial.params) addRow(param.name, param.value, param.secret);
  const status = h('span', { class: 'muted' });
  const describe = h('button', { type: 'button', class: 'secondary' }, 'Describe');
  const refresh = h('button', { type: 'button', class: 'secondary' }, 'Refresh WSDL');
  const element = h(
    'fieldset',
    { class: 'soap-config' },
    h('legend', {}, 'SOAP request'),
    errorBox(),
    field('WSDL URL', wsdl, 'config.wsdlUrl'),
    h('div', { class: 'actions' }, describe, refresh, status),
    field('SOAP action', operation, 'config.operation', 'An operation of the WSDL.'),
    h(
      'div',
      { class: 'field', 'data-field': 'config.params' },
      h('label', {}, 'SOAP parameters'),
      rows,
      h(
        'div',
        { class: 'actions' },
        h(
          'button',
          { type: 'button', class: 'secondary', onclick: () => addRow() },
          'Add parameter',
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            onclick: () => {
              const chosen = operations.find((o) => key(o) === operation.value);
              const have = new Set(
                [...rows.querySelectorAll<HTMLInputElement>('[name=param-name]')].map(
                  (i) => i.value,
                ),
              );
              for (const param of chosen?.op.params ?? [])
                if (!have.has(param.name)) addRow(param.name);
            },
          },
          'Add the operation’s parameters',
        ),
      ),
    ),
    field(
      'SOAP headers',
      template(textarea('config.soapHeaders', initial.headers, { rows: 2 })),
      'config.headers',
      'Extra HTTP headers, one "Name: value" per line.',
    ),
  );
  const key = (o: { service: string; port: string; op: SoapOperation }) =>
    `${o.service}/${o.port}/${o.op.name}`;
  // Describe answers from the cache (an hour); Refresh fetches the WSDL again now.
  const load = (button: HTMLButtonElement, route: 'describe' | 'refresh') =>
    void busy(element, button, async () => {
      status.textContent = 'Fetching the WSDL…';
      try {
        const description = await api<SoapDescription>('POST', `/soap/${route}`, {
          wsdlUrl: wsdl.value,
        });
        operations = description.services.flatMap((s) =>
          s.ports.flatMap((p) => p.operations.map((op) => ({ service: s.name, port: p.name, op }))),
        );
        const names = operations.map((o) => o.op.name);
        replace(
          operation,
          operations.map((o) =>
            h(
              'option',
              { value: key(o) },
              names.filter((n) => n === o.op.name).length > 1
                ? `${o.op.name} (${o.service}/${o.port})`
                : o.op.name,
            ),
          ),
        );
        const current = operations.find(
          (o) =>
            o.op.name === initial.operation && (service === undefined || o.service === service),
        );
        if (current !== undefined) operation.value = key(current);
        status.textContent = `${operations.length} operation(s).`;
      } catch (error) {
        status.textContent = '';
        throw error;
      }
    });
  describe.addEventListener('click', () => load(describe, 'describe'));
  refresh.addEventListener('click', () => load(refresh, 'refresh'));
  return {
    element,
    config: () => {
      const chosen = operations.find((o) => key(o) === operation.value);
      let name = operation.value;
      if (chosen !== undefined) {
        name = chosen.op.name;
        const ambiguous = operations.filter((o) => o.op.name === name).length > 1;
        service = ambiguous ? chosen.service : undefined;
        port = ambiguous ? chosen.port : undefined;
      }
      const params = [...rows.querySelectorAll<HTMLElement>('.param-row')].map((row) => ({
        name: row.querySelector<HTMLInputElement>('[name=param-name]')!.value,
        value: row.querySelector<HTMLInputElement>('[name=param-value]')!.value,
        secret: row.querySelector<HTMLInputElement>('[name=param-secret]')!.checked,
      }));
      return {
        wsdlUrl: wsdl.value,
        operation: name,
        ...(service === undefined ? {} : { service }),
        ...(port === undefined ? {} : { port }),
        params,
        headers: valueOf(element, 'config.soapHeaders'),
        responseEncoding: 'xml',
        // Not on the form: kept as stored (the password comes masked and stays as it is).
        ...(initial.wsSecurity === undefined ? {} : { wsSecurity: initial.wsSecurity }),
      };
    },
  };
}

/** Render the saved version with sample data, or render and send it; shows the request and the answer. */
function testPanel(id: string): HTMLElement {
  const panel = h('form', { class: 'card test-panel', novalidate: true });
  const out = h('div', { class: 'test-result' });
  const sample = textarea('sample', '', {
    rows: 4,
    placeholder: '{"call": {"status": "answered"}, "contact": {"phone": "+15551234567"}}',
  });
  const run = (send: boolean, button: HTMLButtonElement) =>
    busy(panel, button, async () => {
      replace(out);
      const text = sample.value.trim();
      let parsed: unknown;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch (error) {
        throw new Error(`The sample is not JSON: ${String(error)}`);
      }
      const result = await api<TestResult>('POST', `/integrations/${encodeURIComponent(id)}/test`, {
        send,
        ...(parsed === undefined ? {} : { sample: parsed }),
      });
      replace(out, testResult(result));
    });
  const renderButton = h('button', { type: 'button', class: 'secondary' }, 'Render');
  const sendButton = h('button', { type: 'button' }, 'Send');
  renderButton.addEventListener('click', () => void run(false, renderButton));
  sendButton.addEventListener('click', () => void run(true, sendButton));
  panel.append(
    h('h2', {}, 'Test'),
    h(
      'p',
      { class: 'muted' },
      'Tests the saved version. Sample data (JSON with call, contact, campaign, event) is optional: the catalog’s examples fill the rest.',
    ),
    errorBox(),
    h('div', { class: 'field', 'data-field': 'sample' }, h('label', {}, 'Sample'), sample),
    h('div', { class: 'actions' }, renderButton, sendButton),
    out,
  );
  return panel;
}

function headerText(headers: [string, string][]): string {
  return headers.map(([name, value]) => `${name}: ${value}`).join('\n');
}

export function testResult(result: TestResult): HTMLElement {
  const request = result.request;
  return h(
    'div',
    { class: 'exchange' },
    h('h3', {}, 'Request'),
    request === null
      ? h('p', { class: 'muted' }, 'Nothing could be rendered.')
      : h(
          'div',
          { class: 'request' },
          pre(`${request.method} ${request.url}\n${headerText(request.headers)}`, {
            class: 'request-head',
          }),
          request.body === null ? null : pre(request.body, { class: 'request-body' }),
        ),
    result.response === undefined
      ? null
      : h(
          'div',
          { class: 'response' },
          h('h3', {}, 'Response ', badge(String(result.response.status))),
          pre(headerText(result.response.headers), { class: 'response-head' }),
          pre(result.response.body + (result.response.truncated ? '\n…(cut)' : ''), {
            class: 'response-body',
          }),
        ),
    result.outcome === undefined
      ? null
      : h(
          'p',
          { class: `outcome ${result.outcome.success ? 'ok' : 'bad'}` },
          `${result.outcome.kind}: ${result.outcome.message}`,
        ),
    result.error === undefined ? null : h('p', { class: 'outcome bad' }, result.error),
    h('p', { class: 'muted' }, `Version ${result.version}, ${result.durationMs} ms`),
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

/** The token catalog: click a token to put it at the cursor of the template field last used. */
function tokenList(catalog: TokenCatalog): HTMLElement {
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
