/**
 * The console's forms in a real browser against the built service: an error the API names by a
 * row's index (`config.params.1.value`, `bindings.0.integrationId`) lands under that row, also
 * after rows above it were removed, and one about a list typed as text (response variables, a
 * retry schedule) says which line or item; a WSDL that cannot be described is said under its
 * field, and why its operation's parameters could not be added beside the button; a saved
 * integration's page says its new name and version; a contact list shows what an import added.
 */
import type { Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConsole, WAIT, type ConsoleHarness } from '../helpers/console-browser.js';
import { startNodeSoapServer, type NodeSoapServer } from '../soap/soap-servers.js';

describe('console forms', () => {
  let harness: ConsoleHarness;
  let soapServer: NodeSoapServer;

  beforeAll(async () => {
    [harness, soapServer] = await Promise.all([openConsole(), startNodeSoapServer()]);
  });

  afterAll(async () => {
    await harness?.close();
    await soapServer?.close();
  });

  /** Opens a console page afresh (not the page shown, whose address may be the same). */
  const visit = async (hash: string) => {
    await harness.page.goto('about:blank');
    await harness.page.goto(`${harness.base}/#${hash}`);
  };

  /** The text of each field error in `form`, with the field it is under. */
  const errorsIn = (form: Locator) =>
    form
      .locator('.field-error')
      .evaluateAll((errors) =>
        errors.map((e) => [e.parentElement?.getAttribute('data-field'), e.textContent]),
      );

  it("shows a SOAP parameter's error under its row, after a row above it was removed", async () => {
    const { page } = harness;
    await visit('/integrations/new?type=soap');
    const form = page.locator('form.integration-form');
    await form.locator('[name=name]').fill('Tickets');
    const soap = form.locator('fieldset.soap-config');
    await soap.locator('[name="config.wsdlUrl"]').fill(`${soapServer.base}/dotnet?wsdl`);
    await soap.locator('button', { hasText: 'Describe' }).click();
    const operation = soap.locator('[name="config.operation"]');
    await expect.poll(() => operation.locator('option').count(), WAIT).toBeGreaterThan(1);
    const labels = await operation.locator('option').allTextContents();
    await operation.selectOption({ label: labels.find((l) => l.startsWith('CreateTicket'))! });
    const rows = soap.locator('.param-row');
    for (const [name, value] of [
      ['subject', 'Call back'],
      ['phone', '{{contact.phone}}'],
      ['priority', '{{contact.nope}}'],
    ]) {
      await soap.locator('button', { hasText: 'Add parameter' }).click();
      await rows.last().locator('[name=param-name]').fill(name!);
      await rows.last().locator('[name=param-value]').fill(value!);
    }
    await rows.first().locator('button', { hasText: 'Remove' }).click();
    await form.locator('button[type=submit]').click();
    // priority is sent second (config.params.1): its error is under its row.
    const error = rows.locator('.field-error');
    await expect.poll(() => error.count(), WAIT).toBe(1);
    expect(await errorsIn(form)).toEqual([
      ['config.params.1.value', 'unknown token "contact.nope" (line 1, column 3)'],
    ]);
    const row = rows.filter({ has: page.locator('.field-error') });
    expect(await row.locator('[name=param-name]').inputValue()).toBe('priority');
    // A row added after is numbered after them.
    await soap.locator('button', { hasText: 'Add parameter' }).click();
    expect(await rows.last().getAttribute('data-field')).toBe('config.params.2');
  });

  it("says why Add the operation's parameters added none", async () => {
    const { page } = harness;
    await visit('/integrations/new?type=soap');
    const soap = page.locator('form.integration-form fieldset.soap-config');
    const add = soap.locator('button', { hasText: 'Add the operation’s parameters' });
    const note = soap.locator('.params-note');
    const rows = soap.locator('.param-row');
    await add.click();
    await expect
      .poll(() => note.textContent(), WAIT)
      .toBe('Describe the WSDL first: its operations list their parameters.');
    expect(await rows.count()).toBe(0);
    await soap.locator('[name="config.wsdlUrl"]').fill(`${soapServer.base}/dotnet?wsdl`);
    await soap.locator('button', { hasText: 'Describe' }).click();
    const operation = soap.locator('[name="config.operation"]');
    await expect.poll(() => operation.locator('option').count(), WAIT).toBeGreaterThan(1);
    const labels = await operation.locator('option').allTextContents();
    await operation.selectOption({ label: labels.find((l) => l.startsWith('CreateTicket'))! });
    await add.click();
    await expect.poll(() => rows.count(), WAIT).toBeGreaterThan(1);
    expect(await note.textContent()).toBe('');
    const added = await rows.count();
    await add.click();
    await expect
      .poll(() => note.textContent(), WAIT)
      .toBe('Every parameter of CreateTicket is listed already.');
    expect(await rows.count()).toBe(added);
  });

  it('shows why a WSDL cannot be described under the WSDL URL field', async () => {
    const { page } = harness;
    await visit('/integrations/new?type=soap');
    const soap = page.locator('form.integration-form fieldset.soap-config');
    const wsdlError = soap.locator('[data-field="config.wsdlUrl"] .field-error');
    for (const [url, said] of [
      ['', 'must NOT have fewer than 1 characters'],
      ['not a url', '"not a url" is not an absolute URL'],
      // Refused by the network policy (only 127.0.0.0/8 is opened).
      ['http://10.255.255.1/x?wsdl', 'address 10.255.255.1 is in the private range'],
    ]) {
      await soap.locator('[name="config.wsdlUrl"]').fill(url!);
      await soap.locator('button', { hasText: 'Describe' }).click();
      await expect.poll(() => wsdlError.textContent(), WAIT).toContain(said);
      expect(await soap.locator('.form-error').textContent()).toContain('VALIDATION_FAILED');
      expect(await soap.locator('.form-error li').count()).toBe(0);
    }
  });

  it('says which line or item of a list typed as text an error is about', async () => {
    const { page, receiverUrl } = harness;
    await visit('/integrations/new');
    const form = page.locator('form.integration-form');
    await form.locator('[name=name]').fill('Lists');
    await form.locator('[name="config.url"]').fill(`${receiverUrl}/hook`);
    // A blank line is skipped: the fourth variable is on line 5.
    await form
      .locator('[name="options.responseVariables"]')
      .fill('balance customer.balance 0\n\nname customer.name\nplan plan\nx{y a');
    await form.locator('[name="options.retry.scheduleSeconds"]').fill('0, 5, -3');
    await form.locator('[name="options.successStatuses"]').fill('200 99');
    await form.locator('button[type=submit]').click();
    await expect.poll(() => form.locator('.field-error').count(), WAIT).toBe(3);
    expect(await errorsIn(form)).toEqual([
      ['options.retry.scheduleSeconds', 'must be >= 0 (item 3: -3)'],
      ['options.successStatuses', 'must be >= 100 (item 2: 99)'],
      ['options.responseVariables', 'name: must match pattern "^[A-Za-z_][A-Za-z0-9_]*$" (line 5)'],
    ]);
    await form.locator('[name="options.retry.scheduleSeconds"]').fill('0, 5');
    await form.locator('[name="options.successStatuses"]').fill('200');
    await form
      .locator('[name="options.responseVariables"]')
      .fill('balance customer.balance 0\nname customer.name\n\n\nbalance other');
    await form.locator('button[type=submit]').click();
    await expect
      .poll(() => errorsIn(form), WAIT)
      .toEqual([['options.responseVariables', 'name: "balance" is defined twice (line 5)']]);
  });

  it("shows a binding's error under its row, after a row above it was removed", async () => {
    const { page, api, receiverUrl } = harness;
    await api('POST', '/integrations', {
      name: 'CRM',
      type: 'http',
      config: { url: `${receiverUrl}/hook`, method: 'POST', responseEncoding: 'json' },
    });
    await api('POST', '/campaigns', { id: 'rows', name: 'Rows', type: 'voice' });
    await visit('/campaigns/rows');
    const form = page.locator('form.bindings');
    const rows = form.locator('.binding-row');
    for (let i = 0; i < 3; i += 1) {
      await form.locator('button', { hasText: 'Add binding' }).click();
    }
    await rows.nth(0).locator('[name=integrationId]').selectOption({ label: 'CRM' });
    await rows.nth(2).locator('[name=integrationId]').selectOption({ label: 'CRM' });
    await rows.nth(0).locator('button', { hasText: 'Remove' }).click();
    await form.locator('button[type=submit]').click();
    // The row with no integration is sent first (bindings.0): its error is under it.
    const error = rows.nth(0).locator('[data-field="bindings.0.integrationId"] .field-error');
    await expect.poll(() => error.count(), WAIT).toBe(1);
    expect(await rows.nth(0).locator('[name=integrationId]').inputValue()).toBe('');
    expect(await form.locator(':scope > .form-error li').count()).toBe(0);
    // Each row's integration label names its own control.
    const ids = await rows
      .locator('[name=integrationId]')
      .evaluateAll((controls) => controls.map((c) => c.id));
    expect(new Set(ids).size).toBe(2);
  });

  it("says the saved name and version above an integration's form after a save", async () => {
    const { page, api, receiverUrl } = harness;
    const created = await api('POST', '/integrations', {
      name: 'Before',
      type: 'http',
      config: { url: `${receiverUrl}/hook`, method: 'POST', responseEncoding: 'json' },
    });
    await visit(`/integrations/${String(created['id'])}`);
    const form = page.locator('form.integration-form');
    await form.locator('[name=name]').fill('After');
    await form.locator('button[type=submit]').click();
    await expect.poll(() => form.locator('.form-note').textContent(), WAIT).toContain('version 2');
    expect(await page.locator('.page-head h1').textContent()).toBe('After');
    expect(await page.locator('p.version').textContent()).toMatch(/^Version 2 · updated /);
    // Delete asks by the name saved.
    const asked = new Promise<string>((resolve) =>
      page.once('dialog', (dialog) => {
        resolve(dialog.message());
        void dialog.dismiss();
      }),
    );
    await page.locator('button', { hasText: 'Delete integration' }).click();
    expect(await asked).toMatch(/^Delete "After"\?/);
  });

  it("shows a contact list's new size and contacts after an import", async () => {
    const { page, api } = harness;
    const list = await api('POST', '/contact-lists', { name: 'Imported' });
    await api('POST', `/contact-lists/${String(list['id'])}/contacts`, {
      contacts: [{ phone: '+15550003001' }],
    });
    await visit(`/contacts/${String(list['id'])}`);
    const rows = page.locator('table.contacts tbody tr');
    await expect.poll(() => rows.count(), WAIT).toBe(1);
    const upload = page.locator('form.import-form');
    await upload.locator('[name=file]').setInputFiles({
      name: 'contacts.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('phone,firstName\n+15550003002,Ana\n+15550003003,Bo\n'),
    });
    await upload.locator('button[type=submit]').click();
    await expect
      .poll(() => upload.locator('.import-result').textContent(), WAIT)
      .toBe('Added 2 contact(s) to Imported; it has 3.');
    await expect.poll(() => rows.count(), WAIT).toBe(3);
    const phones = await rows.evaluateAll((trs) => trs.map((tr) => tr.children[1]?.textContent));
    expect(phones).toEqual(['+15550003001', '+15550003002', '+15550003003']);
    expect(await page.locator('p.list-size').textContent()).toMatch(/^3 contact\(s\) · /);
  });

  it('reported no script error and no Content-Security-Policy refusal', () => {
    expect(harness.pageErrors).toEqual([]);
  });
});
