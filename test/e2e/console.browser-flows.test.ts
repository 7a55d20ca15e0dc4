/**
 * The web console in a real browser (Debian's Chromium, headless), against the real built service
 * on a SQLite file: sign in, create an HTTP integration aimed at a local receiver, test-send it from
 * the form and see the answer; a bad value shows the API's error next to its field; a call event
 * makes a delivery that the log lists and whose attempts the detail shows; a user without the
 * integration permission sees no Integrations, nor an integration campaign's controls; what the
 * API refuses (a file over 1 MiB, a throttled sign-in, disabling yourself) and what did not
 * answer (a sign-out, a list's next page) is said. One browser for the file.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type Locator,
  type Page,
} from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProcess, type ServiceProcess } from '../helpers/process.js';
import { startNodeSoapServer, type NodeSoapServer } from '../soap/soap-servers.js';

const ADMIN = { email: 'admin@console.test', password: 'console-admin-pw-1' };
const WAIT = { timeout: 10_000 };

describe('the web console in a browser', () => {
  let dataDir: string;
  let service: ServiceProcess;
  let base: string;
  let receiver: http.Server;
  let receiverUrl: string;
  let soapServer: NodeSoapServer;
  const received: { url: string; body: string }[] = [];
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'callhook-console-'));
    receiver = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push({ url: request.url ?? '', body });
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ received: true, echo: body }));
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    service = startProcess(['serve'], {
      CALLHOOK_DATA_DIR: dataDir,
      CALLHOOK_ADMIN_EMAIL: ADMIN.email,
      CALLHOOK_ADMIN_PASSWORD: ADMIN.password,
      CALLHOOK_ALLOW_NETWORKS: '127.0.0.0/8',
      CALLHOOK_LOG_LEVEL: 'info',
    });
    [base, browser, soapServer] = await Promise.all([
      service.listening,
      chromium.launch({
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: ['--no-sandbox'],
      }),
      startNodeSoapServer(),
    ]);
    // Not the machine's zone, and a half-hour one: dates must say which zone they are in.
    context = await browser.newContext({ locale: 'en-US', timezoneId: 'Asia/Kolkata' });
    page = await context.newPage();
    // What the page itself reports goes into the failure output (a CSP refusal, a script error).
    // (An API error answer is logged by Chromium as a failed resource: expected, not counted.)
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
        pageErrors.push(message.text());
      }
    });
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    page.setDefaultTimeout(WAIT.timeout);
  });

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await soapServer?.close();
    receiver?.closeAllConnections();
    await new Promise((resolve) => receiver?.close(resolve));
    fs.rmSync(dataDir, { recursive: true, force: true });
    // One turn of the event loop: libuv runs the closed handles' callbacks (the receiver, the
    // service's pipes) after the check phase, which the leak guard's setImmediate waits on.
    await new Promise((resolve) => setTimeout(resolve, 0));
  });

  /** A JSON request with the page's session cookie, from the console's origin. */
  const apiCall = async (method: 'GET' | 'POST' | 'PUT' | 'PATCH', url: string, data?: unknown) => {
    const res = await context.request.fetch(`${base}/api/v1${url}`, {
      method,
      ...(data === undefined ? {} : { data: data as object }),
      headers: { origin: base },
    });
    expect(res.status(), `${method} ${url}: ${await res.text()}`).toBeLessThan(300);
    const text = await res.text();
    return (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
  };

  /**
   * The integration pickers' list (the first 500) answered without integration `id`, as if it
   * were past them; answers the undo.
   */
  const hideFromPickers = async (id: unknown) => {
    const pattern = '**/api/v1/integrations?limit=500';
    await page.route(pattern, async (route) => {
      const response = await route.fetch();
      const json = (await response.json()) as { items: { id: string }[] };
      await route.fulfill({
        response,
        json: { ...json, items: json.items.filter((i) => i.id !== id) },
      });
    });
    return () => page.unroute(pattern);
  };

  /** Saves the integration form and test-sends the saved version; answers the result panel. */
  const saveAndSend = async (form: Locator) => {
    await form.locator('button[type=submit]').click();
    await page.waitForURL(/#\/integrations\/[0-9a-f-]{36}$/, WAIT);
    const result = page.locator('form.test-panel .test-result');
    await page.locator('form.test-panel button', { hasText: 'Send' }).click();
    await expect.poll(() => result.locator('.response').textContent(), WAIT).toContain('200');
    return result;
  };

  const signIn = async (email: string, password: string) => {
    await page.goto(`${base}/`);
    await page.locator('form.sign-in [name=email]').fill(email);
    await page.locator('form.sign-in [name=password]').fill(password);
    await page.locator('form.sign-in button[type=submit]').click();
  };

  it('signs in, refusing a wrong password with the API error', async () => {
    await signIn(ADMIN.email, 'not-the-password');
    await expect
      .poll(() => page.locator('form.sign-in .form-error').textContent(), WAIT)
      .toContain('INVALID_CREDENTIALS');
    await page.locator('form.sign-in [name=password]').fill(ADMIN.password);
    await page.locator('form.sign-in button[type=submit]').click();
    await page.locator('header.top nav').waitFor();
    const nav = await page.locator('header.top nav a').allTextContents();
    expect(nav).toEqual(expect.arrayContaining(['Integrations', 'Deliveries']));
    expect(await page.locator('header.top .who').textContent()).toContain(ADMIN.email);
  });

  it('creates an HTTP integration, shows a bad value next to its field, and test-sends it', async () => {
    await page.locator('header.top nav a', { hasText: 'Integrations' }).click();
    await page.locator('a.button', { hasText: 'New integration' }).click();
    const form = page.locator('form.integration-form');
    await form.locator('[name=name]').fill('CRM push');
    await form
      .locator('[name="config.url"]')
      .fill(`${receiverUrl}/hook?phone={{contact.phone}}&who={{contact.nope}}`);
    await form.locator('[name="config.method"]').selectOption('POST');
    await form.locator('[name="config.body"]').fill('{"status": "{{call.status}}"}');
    // The form starts with `Content-Type: application/json`; without it the body is refused.
    expect(await form.locator('[name="config.headers"]').inputValue()).toBe(
      'Content-Type: application/json',
    );
    await form.locator('[name="config.headers"]').fill('');
    await form.locator('[name="options.timeoutMs"]').fill('5');
    await form.locator('button[type=submit]').click();
    // The shape check comes first: the timeout is named under its own field.
    const timeoutError = form.locator('[data-field="options.timeoutMs"] .field-error');
    await expect.poll(() => timeoutError.textContent(), WAIT).toContain('must be >= 100');
    expect(await form.locator(':scope > .form-error').textContent()).toContain('VALIDATION_FAILED');

    await form.locator('[name="options.timeoutMs"]').fill('5000');
    await form.locator('button[type=submit]').click();
    // Then the templates: an unknown token under the URL, with where it is, and under the body
    // that a JSON body needs a Content-Type line to escape its values.
    const urlError = form.locator('[data-field="config.url"] .field-error');
    await expect.poll(() => urlError.textContent(), WAIT).toContain('contact.nope');
    expect(await timeoutError.count()).toBe(0);
    const bodyError = form.locator('[data-field="config.body"] .field-error');
    expect(await bodyError.textContent()).toContain(
      'is JSON, but config.headers has no Content-Type line, so its values would be inserted unescaped',
    );
    expect(await bodyError.textContent()).toContain('add `Content-Type: application/json`');

    await form.locator('[name="config.url"]').fill(`${receiverUrl}/hook?phone={{contact.phone}}`);
    await form.locator('[name="config.headers"]').fill('Content-Type: application/json');
    const result = await saveAndSend(form);
    expect(await result.locator('.request-head').textContent()).toContain(
      `POST ${receiverUrl}/hook?phone=%2B15551234567`,
    );
    expect(await result.locator('.response-body').textContent()).toContain('"received": true');
    expect(received.some((r) => r.url === '/hook?phone=%2B15551234567')).toBe(true);

    // Saving again keeps what the form does not show (here maxRedirects), and makes a version.
    const id = page.url().split('/').pop()!;
    const secret = (byte: number) => `whsec_${Buffer.alloc(32, byte).toString('base64')}`;
    await apiCall('PATCH', `/integrations/${id}`, {
      config: { maxRedirects: 3 },
      options: { signing: { secret: secret(1) } },
    });
    await page.reload();
    // The page says how its deliveries are doing (GET …/health): nothing waits, circuit closed.
    await expect
      .poll(() => page.locator('p.health').textContent(), WAIT)
      .toBe('Deliveries: 0 pending, 0 being sent');
    await form.locator('[name="config.body"]').fill('{"status": "{{call.status}}", "v": 3}');
    // A new signing secret, the old one still valid for a day.
    await form.locator('[name="options.signing.secret"]').fill(secret(2));
    // A secret typed in shows as dots, as the stored one does.
    expect(await form.locator('[name="options.signing.secret"]').getAttribute('type')).toBe(
      'password',
    );
    const tomorrow = new Date(Date.now() + 86_400_000 - new Date().getTimezoneOffset() * 60_000);
    await form
      .locator('[name="options.signing.previousExpiresAt"]')
      .fill(tomorrow.toISOString().slice(0, 16));
    await form.locator('button[type=submit]').click();
    await expect.poll(() => form.locator('.form-note').textContent(), WAIT).toContain('version 3');
    const saved = await apiCall('GET', `/integrations/${id}`);
    expect(saved['config']).toMatchObject({
      maxRedirects: 3,
      body: '{"status": "{{call.status}}", "v": 3}',
    });
    expect(saved['options']).toMatchObject({
      signing: { secret: '••••', previousSecret: '••••', previousExpiresAt: expect.any(String) },
    });

    // An edit made elsewhere since the form was read: saving answers 409, shown on the form.
    await apiCall('PATCH', `/integrations/${id}`, { description: 'changed elsewhere' });
    await form.locator('button[type=submit]').click();
    await expect
      .poll(() => form.locator(':scope > .form-error').textContent(), WAIT)
      .toContain('CONFLICT');
    // Read again, the form says until when the old secret signs, in the browser's zone.
    await page.reload();
    await expect
      .poll(
        () => form.locator('[data-field="options.signing.previousExpiresAt"] .hint').textContent(),
        WAIT,
      )
      .toMatch(/The old secret now signs too until .* GMT\+5:30\.$/);
  });

  it('describes a WSDL, picks an operation and its parameters, and test-sends a SOAP call', async () => {
    await page.goto(`${base}/#/integrations/new`);
    const form = page.locator('form.integration-form');
    await form.locator('[name=name]').fill('Ticket');
    await form.locator('[name=type]').selectOption('soap');
    const soap = form.locator('fieldset.soap-config');
    await soap.locator('[name="config.wsdlUrl"]').fill(`${soapServer.base}/dotnet?wsdl`);
    await soap.locator('button', { hasText: 'Describe' }).click();
    const operation = soap.locator('[name="config.operation"]');
    await expect.poll(() => operation.locator('option').count(), WAIT).toBeGreaterThan(1);
    const labels = await operation.locator('option').allTextContents();
    await operation.selectOption({ label: labels.find((l) => l.startsWith('CreateTicket'))! });
    await soap.locator('button', { hasText: 'Add the operation' }).click();
    const names = await soap
      .locator('[name=param-name]')
      .evaluateAll((inputs) => inputs.map((i) => (i as unknown as { value: string }).value));
    // Nested elements by their dotted names, as the API reads them.
    expect(names).toEqual(expect.arrayContaining(['phone', 'priority', 'customer.address.city']));
    const row = (name: string) => soap.locator('.param-row').nth(names.indexOf(name));
    await row('phone').locator('[name=param-value]').fill('{{contact.phone}}');
    await row('priority').locator('[name=param-value]').fill('2');
    // Marked secret, a parameter's value shows as dots; it is still sent as typed.
    const priority = row('priority').locator('[name=param-value]');
    expect(await priority.getAttribute('type')).toBe('text');
    await row('priority').locator('[name=param-secret]').check();
    expect(await priority.getAttribute('type')).toBe('password');
    // Parameters left empty are not sent.
    for (const name of names.filter((n) => n !== 'phone' && n !== 'priority').reverse()) {
      await row(name).locator('button', { hasText: 'Remove' }).click();
    }
    const result = await saveAndSend(form);
    expect(await result.locator('.response-body').textContent()).toContain('NODE-1');
    expect(soapServer.calls.at(-1)).toMatchObject({
      operation: 'CreateTicket',
      args: { phone: '+15551234567', priority: 2 },
    });
  });

  it('binds the integration to a campaign, and lists its call event delivery with the attempts', async () => {
    await page.locator('header.top nav a', { hasText: 'Campaigns' }).click();
    const create = page.locator('form.new-campaign');
    await create.locator('[name=name]').fill('Spring');
    await create.locator('[name=id]').fill('spring');
    await create.locator('button[type=submit]').click();
    await page.waitForURL(/#\/campaigns\/spring$/, WAIT);
    const bindings = page.locator('form.bindings');
    await bindings.locator('button', { hasText: 'Add binding' }).click();
    await bindings.locator('button[type=submit]').click();
    // No integration chosen: the API's error lands under the row's integration field.
    await expect
      .poll(
        () => bindings.locator('[data-field="bindings.0.integrationId"] .field-error').count(),
        WAIT,
      )
      .toBe(1);
    await bindings.locator('[name=integrationId]').selectOption({ label: 'CRM push' });
    await bindings.locator('button[type=submit]').click();
    await expect
      .poll(() => bindings.locator('.form-note').textContent(), WAIT)
      .toContain('1 binding');

    await apiCall('POST', '/events', {
      id: 'ev-browser-1',
      type: 'call.ended',
      occurredAt: new Date().toISOString(),
      campaignId: 'spring',
      call: { id: 'c-1', status: 'answered' },
      contact: { phone: '+15550001111' },
    });
    await page.locator('header.top nav a', { hasText: 'Deliveries' }).click();
    const row = page.locator('table.deliveries tbody tr', { hasText: 'ev-browser-1' });
    await row.waitFor();
    // The log shown is read again by its navigation entry, and by Filter with the same filters.
    const event = (id: string) =>
      apiCall('POST', '/events', {
        id,
        type: 'call.ended',
        occurredAt: new Date().toISOString(),
        campaignId: 'spring',
        call: { id: `c-${id}`, status: 'answered' },
        contact: { phone: '+15550001112' },
      });
    await event('ev-browser-2');
    await page.locator('header.top nav a', { hasText: 'Deliveries' }).click();
    await page.locator('table.deliveries tbody tr', { hasText: 'ev-browser-2' }).waitFor();
    await event('ev-browser-3');
    await page.locator('form.filters button[type=submit]').click();
    await page.locator('table.deliveries tbody tr', { hasText: 'ev-browser-3' }).waitFor();
    // Filtered by an integration not among the 500 the filter reads: Filter keeps it.
    const [delivered] = (await apiCall('GET', '/deliveries?eventId=ev-browser-3'))['items'] as {
      integrationId: string;
    }[];
    const hidden = delivered!.integrationId;
    const showAgain = await hideFromPickers(hidden);
    await page.goto(`${base}/#/deliveries?integrationId=${hidden}`);
    const integrationFilter = page.locator('form.filters [name=integrationId]');
    await expect.poll(() => integrationFilter.inputValue(), WAIT).toBe(hidden);
    await page.locator('form.filters button[type=submit]').click();
    await expect.poll(() => page.url(), WAIT).toContain(`integrationId=${hidden}`);
    expect(await integrationFilter.inputValue()).toBe(hidden);
    await showAgain();
    await page.locator('header.top nav a', { hasText: 'Deliveries' }).click();
    await row.locator('a').first().click();
    await page.waitForURL(/#\/deliveries\//, WAIT);
    // The detail page follows a pending delivery until it settles.
    const attempt = page.locator('details.attempt').first();
    await expect.poll(() => attempt.locator('summary').textContent(), WAIT).toContain('Attempt 1');
    expect(await page.locator('dl.facts').textContent()).toContain('succeeded');
    // Its integration by name, linked.
    expect(await page.locator('dl.facts').textContent()).toContain('IntegrationCRM push');
    // Times name the browser's zone (the dialer's logs may be in another).
    expect(await page.locator('dl.facts').textContent()).toMatch(
      /Created\d+\/\d+\/\d{4}, .* GMT\+5:30/,
    );
    expect(await attempt.textContent()).toContain(`POST ${receiverUrl}/hook?phone=%2B15550001111`);
    expect(await attempt.textContent()).toContain('HTTP 200');

    // A replay job of the integration's failed deliveries (none here) runs and is listed.
    await page.locator('dl.facts a').first().click();
    const replay = page.locator('form.replay-panel');
    // The time it reads is in the browser's zone, which it names (ICU may say Asia/Calcutta).
    expect(await replay.locator('[data-field=since] .hint').textContent()).toMatch(
      /^In Asia\/(Kolkata|Calcutta) time\.$/,
    );
    await replay.locator('button[type=submit]').click();
    await expect
      .poll(() => replay.locator('.job-list li').first().textContent(), WAIT)
      .toContain('0 of 0 requeued');

    // A delivery waiting for its next try (here in 10 minutes) is still followed, but its page
    // is not drawn again while nothing changed: an attempt closed by the reader stays closed.
    const down = await apiCall('POST', '/integrations', {
      name: 'Down',
      type: 'http',
      config: { url: 'http://127.0.0.1:1/down', method: 'POST' },
      options: { retry: { maxAttempts: 3, scheduleSeconds: [600, 600] } },
    });
    await apiCall('POST', '/campaigns', { id: 'down', name: 'Down', type: 'voice' });
    await apiCall('PUT', '/campaigns/down/bindings', {
      bindings: [{ integrationId: down['id'], on: ['call.ended'] }],
    });
    await apiCall('POST', '/events', {
      id: 'ev-down-1',
      type: 'call.ended',
      occurredAt: new Date().toISOString(),
      campaignId: 'down',
      call: { id: 'c-down', status: 'answered' },
      contact: { phone: '+15550003333' },
    });
    let waiting: { id: string; attempts: number } | undefined;
    await expect
      .poll(async () => {
        const list = await apiCall('GET', '/deliveries?eventId=ev-down-1');
        waiting = (list['items'] as { id: string; attempts: number }[])[0];
        return waiting?.attempts;
      }, WAIT)
      .toBe(1);
    await page.goto(`${base}/#/deliveries/${waiting!.id}`);
    const tried = page.locator('details.attempt').first();
    await expect.poll(() => tried.locator('summary').textContent(), WAIT).toContain('Attempt 1');
    await tried.locator('summary').click();
    expect(await tried.getAttribute('open')).toBeNull();
    const polled = await page.waitForResponse((r) =>
      r.url().endsWith(`/deliveries/${waiting!.id}`),
    );
    await polled.finished();
    await page.waitForTimeout(100);
    expect(await tried.getAttribute('open')).toBeNull();

    // Cancelled, it offers no "Retry now": the API retries only a failed delivery (409).
    await page.locator('.actions button', { hasText: 'Cancel' }).click();
    await expect.poll(() => page.locator('dl.facts').textContent(), WAIT).toContain('cancelled');
    expect(await page.locator('.actions button').count()).toBe(0);
  });

  it('imports contacts from a CSV file, naming each bad row, and runs an integration campaign over them', async () => {
    await page.locator('header.top nav a', { hasText: 'Contacts' }).click();
    const create = page.locator('form.inline-form');
    await create.locator('[name=name]').fill('Spring list');
    await create.locator('button[type=submit]').click();
    await page.waitForURL(/#\/contacts\/[^/]+$/, WAIT);
    const upload = page.locator('form.import-form');
    const csv = (text: string) => ({
      name: 'contacts.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(text),
    });
    await upload
      .locator('[name=file]')
      .setInputFiles(
        csv('phone,firstName,email\n+15550002001,Ana,ana@example.com\n,Bo,not-an-email\n'),
      );
    await upload.locator('button[type=submit]').click();
    const errors = upload.locator('table.import-errors tbody tr');
    await expect.poll(() => errors.count(), WAIT).toBeGreaterThan(0);
    expect(await errors.first().textContent()).toContain('2');
    // Each bad row is listed once, in the table; the form's error says what happened.
    const formError = (await upload.locator('.form-error').textContent()) ?? '';
    expect(formError).toContain('VALIDATION_FAILED');
    expect(formError).not.toContain('not-an-email');
    expect(formError).not.toContain('email');
    // A file over the API's 1 MiB body limit is said plainly, with what to do, and not sent.
    const row = '+15550009999,Someone\n';
    await upload
      .locator('[name=file]')
      .setInputFiles(csv(`phone,firstName\n${row.repeat((1.1 * 1024 * 1024) / row.length)}`));
    await upload.locator('button[type=submit]').click();
    await expect
      .poll(() => upload.locator('.form-error').textContent(), WAIT)
      .toContain('The file is 1.10 MiB; an import takes up to 1 MiB. Split it');
    await upload
      .locator('[name=file]')
      .setInputFiles(csv('phone,firstName\n+15550002001,Ana\n+15550002002,Bo\n'));
    await upload.locator('button[type=submit]').click();
    await expect
      .poll(() => upload.locator('.import-result').textContent(), WAIT)
      .toContain('Added 2');

    // A list of more than a page: More adds the rest once each; a page that did not load says so.
    const paged = await apiCall('POST', '/contact-lists', { name: 'Paged' });
    const phones = Array.from({ length: 120 }, (_, i) => `+1555100${String(i).padStart(4, '0')}`);
    await apiCall('POST', `/contact-lists/${String(paged['id'])}/contacts`, {
      contacts: phones.map((phone) => ({ phone })),
    });
    await page.goto(`${base}/#/contacts/${String(paged['id'])}`);
    const rows = page.locator('table.contacts tbody tr');
    await expect.poll(() => rows.count(), WAIT).toBe(100);
    await page.route('**/contacts?*cursor=*', (route) => route.abort());
    await page.locator('.pager button', { hasText: 'More' }).click();
    await expect
      .poll(() => page.locator('.pager [role=alert]').textContent(), WAIT)
      .toContain('The next page did not load');
    await page.unroute('**/contacts?*cursor=*');
    await page.locator('.pager button', { hasText: 'More' }).click();
    await expect.poll(() => rows.count(), WAIT).toBe(120);
    const shown = await rows.evaluateAll((trs) => trs.map((tr) => tr.children[1]?.textContent));
    expect(shown).toEqual(phones);
    expect(await page.locator('.pager [role=alert]').textContent()).toBe('');

    await page.locator('header.top nav a', { hasText: 'Campaigns' }).click();
    const campaign = page.locator('form.new-campaign');
    await campaign.locator('[name=name]').fill('Reminder');
    await campaign.locator('[name=type]').selectOption('integration');
    await campaign.locator('[name=contactListId]').selectOption({ label: 'Spring list' });
    await campaign.locator('[name=integrationId]').selectOption({ label: 'CRM push' });
    await campaign.locator('[name=ratePerSecond]').fill('50');
    await campaign.locator('button[type=submit]').click();
    await page.waitForURL(/#\/campaigns\/[^/]+$/, WAIT);
    // A change of its settings says it was saved.
    const settings = page.locator('form.run-settings');
    await settings.locator('[name=ratePerSecond]').fill('40');
    await settings.locator('button[type=submit]').click();
    await expect
      .poll(() => page.locator('.run .form-note').textContent(), WAIT)
      .toBe('Settings saved.');
    // Its integration not among the picker's (past the first 500): kept when saved, not cleared.
    const campaignPath = `/campaigns/${page.url().split('/').pop()!}`;
    const { integrationId } = await apiCall('GET', campaignPath);
    const showAgain = await hideFromPickers(integrationId);
    await page.reload();
    await settings.locator('button[type=submit]').click();
    await expect
      .poll(() => page.locator('.run .form-note').textContent(), WAIT)
      .toBe('Settings saved.');
    expect((await apiCall('GET', campaignPath))['integrationId']).toBe(integrationId);
    await showAgain();
    // The progress poll (every 1.5 s) sets the figures in place and leaves the buttons while
    // the state holds: the Start button seen before a poll is the one after it, and takes the
    // click (not a button drawn again under the pointer, or none).
    const start = await page.locator('.run-controls button', { hasText: 'Start' }).elementHandle();
    const figures = await page.locator('.run .progress').elementHandle();
    const polled = await page.waitForResponse(
      (r) => r.request().method() === 'GET' && r.url().endsWith(`/api/v1${campaignPath}`),
    );
    await polled.finished();
    await page.waitForTimeout(100);
    expect(await start!.evaluate((button) => button.isConnected)).toBe(true);
    expect(await figures!.evaluate((element) => element.isConnected)).toBe(true);
    await start!.click();
    // Progress is polled while the page is shown.
    await expect
      .poll(() => page.locator('.run .progress').textContent(), WAIT)
      .toContain('2 of 2 done');
    await page.locator('.results button', { hasText: 'Refresh' }).click();
    await expect
      .poll(() => page.locator('.results tbody tr', { hasText: 'succeeded' }).count(), WAIT)
      .toBe(2);
    // A status chosen while the page of the one before is on its way: the last chosen is shown.
    const results = page.locator('.results');
    await page.route('**/results?*status=succeeded*', async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await route.continue();
    });
    const slow = page.waitForResponse((r) => r.url().includes('status=succeeded'));
    await results.locator('[name=status]').selectOption('succeeded');
    await results.locator('[name=status]').selectOption('failed');
    await (await slow).finished();
    await page.waitForTimeout(100);
    await page.unroute('**/results?*status=succeeded*');
    expect(await results.textContent()).toContain('No result yet.');
    expect(await results.locator('tbody tr').count()).toBe(0);
  });

  it('shows the dashboard from the metrics and the activity per minute', async () => {
    // The service's answer is read (200), then replaced by known minutes: the previous and the
    // current one too, so a minute that ends meanwhile changes nothing.
    const minute = Date.now() - (Date.now() % 60_000);
    let status: number | undefined;
    let served: unknown;
    await page.route('**/api/v1/activity?*', async (route) => {
      const response = await route.fetch();
      status = response.status();
      served = await response.json();
      const items = [-2, -1, 0].map((i) => ({
        minute: new Date(minute + i * 60_000).toISOString(),
        ...{ succeeded: 90, failed: 30, retried: 0, events: 60 },
      }));
      const queue = [-1, 0].map((i) => ({
        minute: new Date(minute + i * 60_000).toISOString(),
        ...{ pending: 40 + i, oldestPendingAgeSeconds: 3, openCircuits: 0 },
      }));
      await route.fulfill({ response, json: { items, queue } });
    });
    await page.locator('header.top nav a', { hasText: 'Dashboard' }).click();
    const stats = () => page.locator('.stats').textContent();
    await expect.poll(stats, WAIT).toContain('Queue depth');
    await expect.poll(stats, WAIT).toContain('Deliveries done / s (last minute)2');
    expect(await stats()).toContain('Success rate (attempts, last minute)75.0 %');
    expect(status).toBe(200);
    // The service samples its queue as it starts: the minute it started in is there.
    expect((served as { queue: { pending: number }[] }).queue.length).toBeGreaterThan(0);
    expect(await page.locator('svg[aria-label^="Throughput"]').count()).toBe(1);
    // The queue chart is the per-minute history, up to the current minute's sample.
    const queueChart = page.locator(
      'svg[aria-label="Queue depth (pending deliveries, per minute)"]',
    );
    await expect.poll(() => queueChart.locator('text').textContent(), WAIT).toBe('max 40.0 ');
    await page.unroute('**/api/v1/activity?*');
    // A source that cannot be read is said, and the saying goes once it is read again.
    const trouble = page.locator('.dashboard [role=alert]');
    expect(await trouble.isHidden()).toBe(true);
    await page.route('**/metrics', (route) => route.fulfill({ status: 503, body: 'down' }));
    // Read again at once by its navigation entry; cleared by the next sample, within 5 s.
    await page.locator('header.top nav a', { hasText: 'Dashboard' }).click();
    await expect
      .poll(() => trouble.textContent(), WAIT)
      .toBe('The queue (/metrics) could not be read (/metrics answered 503); trying again.');
    await page.unroute('**/metrics');
    await expect.poll(() => trouble.isHidden(), WAIT).toBe(true);
  });

  it('creates an API key, shown once, that signs requests in', async () => {
    await page.locator('header.top .who a', { hasText: 'API keys' }).click();
    const card = page.locator('.api-keys');
    await card.locator('[name=name]').fill('dialer');
    await card.locator('button[type=submit]').click();
    const key = (await card.locator('pre.api-key').textContent({ timeout: WAIT.timeout }))!;
    expect(key).toMatch(/^chk_/);
    await expect.poll(() => card.locator('tbody tr').count(), WAIT).toBe(1);
    const me = await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${key}` } });
    expect(((await me.json()) as { email: string }).email).toBe(ADMIN.email);
  });

  it('lists every user, a page at a time, More adding the next', async () => {
    // Five accounts with the admin; the page's size is made 2 (its request's limit rewritten),
    // so that three pages need no hundreds of accounts (each one's password hash takes time).
    const emails = [1, 2, 3, 4].map((i) => `paged-${i}@console.test`);
    for (const email of emails) {
      await apiCall('POST', '/users', { email, name: 'Paged', password: 'paged-user-pw-1' });
    }
    const usersList = (url: URL) => url.pathname === '/api/v1/users';
    await page.route(usersList, async (route) => {
      const url = new URL(route.request().url());
      url.searchParams.set('limit', '2');
      await route.continue({ url: url.toString() });
    });
    await page.locator('header.top nav a', { hasText: 'Users & Roles' }).click();
    const rows = page.locator('.card.users tbody tr');
    const more = page.locator('.card.users .pager button', { hasText: 'More' });
    await expect.poll(() => rows.count(), WAIT).toBe(2);
    await more.click();
    await expect.poll(() => rows.count(), WAIT).toBe(4);
    await more.click();
    await expect.poll(() => rows.count(), WAIT).toBe(5);
    expect(await more.isHidden()).toBe(true);
    const shown = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-user')));
    expect(shown.sort()).toEqual([ADMIN.email, ...emails].sort());
    await page.unroute(usersList);
  });

  it('keeps a form being edited when the session ends, and saves it after signing in again', async () => {
    await page.goto(`${base}/#/integrations/new`);
    const form = page.locator('form.integration-form');
    await form.locator('[name=name]').fill('Typed before the session ended');
    await form.locator('[name="config.url"]').fill(`${receiverUrl}/kept`);
    // The session ends on the server (signed out elsewhere) while the form is being edited.
    await apiCall('POST', '/auth/logout');
    await form.locator('[name="config.method"]').selectOption('POST');
    await form.locator('[name="config.body"]').fill('{"kept": true}');
    await form.locator('button[type=submit]').click();
    // The save is refused (said in its form); the sign-in comes over the page, not in its place.
    const again = page.locator('dialog.session-ended form.sign-in');
    await again.waitFor();
    expect(await form.locator(':scope > .form-error').textContent()).toContain('UNAUTHENTICATED');
    expect(await again.locator('[name=email]').inputValue()).toBe(ADMIN.email);
    // Escape does not take it away, not even for a moment (the page behind cannot save without a
    // session).
    await page.locator('dialog.session-ended').evaluate((d) => {
      d.addEventListener('close', () => d.setAttribute('data-closed', 'yes'));
    });
    await page.keyboard.press('Escape');
    await page.keyboard.press('Escape');
    // The close event, if any, is a task queued after the key's: one turn later it has run.
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 50)));
    expect(await page.locator('dialog.session-ended').getAttribute('data-closed')).toBeNull();
    expect(
      await page
        .locator('dialog.session-ended')
        .evaluate((d) => (d as unknown as { open: boolean }).open),
    ).toBe(true);
    await again.locator('[name=password]').fill(ADMIN.password);
    await again.locator('button[type=submit]').click();
    await expect.poll(() => page.locator('dialog.session-ended').count(), WAIT).toBe(0);
    expect(await form.locator('[name=name]').inputValue()).toBe('Typed before the session ended');
    expect(await form.locator('[name="config.body"]').inputValue()).toBe('{"kept": true}');
    await form.locator('button[type=submit]').click();
    await page.waitForURL(/#\/integrations\/[0-9a-f-]{36}$/, WAIT);
    const saved = await apiCall('GET', `/integrations/${page.url().split('/').pop()!}`);
    expect(saved).toMatchObject({
      name: 'Typed before the session ended',
      config: { url: `${receiverUrl}/kept`, method: 'POST', body: '{"kept": true}' },
    });
  });

  it('marks a permission a user still holds through a role when its box is unchecked, as roles change', async () => {
    // Signed in as the admin (the page shares the context's cookies), whatever ran before.
    await apiCall('POST', '/auth/login', ADMIN);
    const role = await apiCall('POST', '/roles', { name: 'Listers', permissions: ['contact'] });
    const user = await apiCall('POST', '/users', {
      email: 'lister@console.test',
      name: 'Lister',
      password: 'lister-user-pw-1',
    });
    await apiCall('PUT', `/users/${String(user['id'])}/permissions/contact`);
    await apiCall('PUT', `/users/${String(user['id'])}/roles/${String(role['id'])}`);
    await page.goto(`${base}/#/users?lister=1`);
    const row = page.locator('tr[data-user="lister@console.test"]');
    const box = row.locator('[data-permission=contact]');
    const cell = row.locator('td', { has: page.locator('[data-permission=contact]') });
    await expect.poll(() => box.isChecked(), WAIT).toBe(true);
    expect(await cell.textContent()).toBe('');
    // The direct grant goes; the role still grants it, and the row says so.
    await box.uncheck();
    await expect.poll(() => cell.textContent(), WAIT).toBe(' (role)');
    // The role's own grant goes: nothing grants it any more.
    const roleBox = page.locator('tr[data-role="Listers"] [data-permission=contact]');
    await roleBox.uncheck();
    await expect.poll(() => cell.textContent(), WAIT).toBe('');
    await roleBox.check();
    await expect.poll(() => cell.textContent(), WAIT).toBe(' (role)');
    // The role taken from the user: nothing again.
    await row.locator('[aria-label="Take role Listers from lister@console.test"]').click();
    await expect.poll(() => cell.textContent(), WAIT).toBe('');
  });

  it('gives a new user the campaign permission; signed in, they see Campaigns but no Integrations', async () => {
    const user = { email: 'campaigner@console.test', password: 'campaigner-pw-1' };
    await page.locator('header.top nav a', { hasText: 'Users & Roles' }).click();
    // A change the API refuses (disabling yourself: 409) is shown, and the box goes back.
    const own = page.locator(
      `tr[data-user="${ADMIN.email}"] [aria-label="${ADMIN.email} disabled"]`,
    );
    await own.click();
    await expect
      .poll(() => page.locator('.card.users > .form-error').textContent(), WAIT)
      .toContain('CONFLICT: You cannot disable yourself');
    expect(await own.isChecked()).toBe(false);
    const form = page.locator('form.new-user');
    await form.locator('[name=email]').fill(user.email);
    await form.locator('[name=name]').fill('Campaigner');
    await form.locator('[name=password]').fill(user.password);
    await form.locator('button[type=submit]').click();
    const row = page.locator(`tr[data-user="${user.email}"]`);
    await row.locator('[data-permission=campaign]').check();
    await expect
      .poll(() => row.locator('[data-permission=campaign]').isDisabled(), WAIT)
      .toBe(false);

    // A sign-out the service did not answer says so, the session still open (not a sign-in
    // page over a live session).
    await page.route('**/api/v1/auth/logout', (route) => route.abort());
    await page.locator('header.top button', { hasText: 'Sign out' }).click();
    await expect
      .poll(() => page.locator('main .sign-out-failed').textContent(), WAIT)
      .toContain('Not signed out: you are still signed in');
    expect(await page.locator('form.sign-in').count()).toBe(0);
    await page.unroute('**/api/v1/auth/logout');
    await page.locator('header.top button', { hasText: 'Sign out' }).click();
    await page.locator('form.sign-in').waitFor();
    await signIn(user.email, user.password);
    await page.locator('header.top nav').waitFor();
    const nav = await page.locator('header.top nav a').allTextContents();
    expect(nav).toContain('Campaigns');
    expect(nav).not.toContain('Integrations');
    expect(nav).not.toContain('Deliveries');
    expect(nav).not.toContain('Users & Roles');
    await page.goto(`${base}/#/integrations`);
    await expect
      .poll(() => page.locator('main').textContent(), WAIT)
      .toContain('needs the "integration" permission');
    // An address that does not decode names no page (not a blank page and a script error).
    await page.goto(`${base}/#/campaigns/%E0%A4%A`);
    await expect
      .poll(() => page.locator('main').textContent(), WAIT)
      .toContain('No console page at /campaigns/%E0%A4%A');

    // An integration campaign is made without what needs "integration" (the list, integration
    // and rate), and its page shows its progress without the controls the API would refuse.
    await page.locator('header.top nav a', { hasText: 'Campaigns' }).click();
    const create = page.locator('form.new-campaign');
    await create.locator('[name=name]').fill('Callback');
    await create.locator('[name=id]').fill('callback');
    await create.locator('[name=type]').selectOption('integration');
    expect(await create.locator('[name=ratePerSecond]').isVisible()).toBe(false);
    await create.locator('button[type=submit]').click();
    await page.waitForURL(/#\/campaigns\/callback$/, WAIT);
    const run = page.locator('.run');
    await expect.poll(() => run.textContent(), WAIT).toContain('need the "integration" permission');
    expect(await run.locator('button').count()).toBe(0);
  });

  it('says how long to wait when sign-in is throttled (429)', async () => {
    // Signing out shows the sign-in form once: the change of address it makes asks /me again
    // (held back here), whose 401 does not draw a new form over what is being typed.
    await page.route('**/api/v1/me', async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await route.continue();
    });
    const meAsked = page.waitForResponse((r) => r.url().endsWith('/api/v1/me'));
    await page.locator('header.top button', { hasText: 'Sign out' }).click();
    const shown = await page.locator('form.sign-in').elementHandle();
    await (await meAsked).finished();
    await page.waitForTimeout(100);
    await page.unroute('**/api/v1/me');
    expect(await shown!.evaluate((form) => form.isConnected)).toBe(true);
    // Five failures are free (fewer are left for this address after the earlier tests' wrong
    // password); then each try within the back-off is refused with Retry-After. Each failure past
    // the free ones doubles the back-off (1 s, 2 s, 4 s).
    const wrong = { email: 'nobody@console.test', password: 'wrong-password-1' };
    // The form is filled first, and the back-off waited out until it is 4 s: the first one, 1 s
    // from the last failure, a page load or a click on a busy machine can outlast.
    const form = page.locator('form.sign-in');
    await form.locator('[name=email]').fill(wrong.email);
    await form.locator('[name=password]').fill(wrong.password);
    let retryAfter = 0;
    for (let tries = 0; retryAfter < 4 && tries < 16; tries += 1) {
      const res = await context.request.post(`${base}/api/v1/auth/login`, {
        data: wrong,
        headers: { origin: base },
      });
      if (res.status() !== 429) continue;
      retryAfter = Number(res.headers()['retry-after']);
      if (retryAfter < 4) await page.waitForTimeout(retryAfter * 1000 + 50);
    }
    expect(retryAfter).toBeGreaterThanOrEqual(4);
    await form.locator('button[type=submit]').click();
    const box = form.locator('.form-error');
    await expect.poll(() => box.textContent(), WAIT).toContain('RATE_LIMITED');
    expect(await box.textContent()).toMatch(/Try again in \d+ s\.$/);
  });

  it('reported no script error and no Content-Security-Policy refusal on any page', () => {
    expect(pageErrors).toEqual([]);
  });
});
