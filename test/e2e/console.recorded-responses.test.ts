/**
 * How the console shows a recorded response (a delivery's attempts, an IVR invocation's log), in
 * a real browser against the built service and a local receiver: a body cut at 64 KiB says so.
 */
import type { Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConsole, WAIT, type ConsoleHarness } from '../helpers/console-browser.js';

/** More than the 64 KiB an attempt keeps. */
const BIG = JSON.stringify({
  items: Array.from({ length: 3000 }, (_, i) => ({ id: i, name: 'x'.repeat(20) })),
});

describe('recorded responses in the console', () => {
  let harness: ConsoleHarness;

  beforeAll(async () => {
    harness = await openConsole();
    harness.answer((request, response) => {
      const [, what] = /^\/(\w+)/.exec(request.url) ?? [];
      const bodies: Record<string, [string, string]> = {
        big: ['application/json', BIG],
      };
      const [type, body] = bodies[what ?? ''] ?? ['text/plain', 'nothing here'];
      response.writeHead(200, { 'content-type': type });
      response.end(body);
    });
  });

  afterAll(async () => {
    await harness?.close();
  });

  /** An HTTP integration that posts to the receiver's `/path`, reading answers as `encoding`. */
  const integration = async (name: string, path: string, encoding: 'json' | 'xml' | 'text') => {
    const created = await harness.api('POST', '/integrations', {
      name,
      type: 'http',
      config: {
        url: `${harness.receiverUrl}/${path}`,
        method: 'POST',
        body: '{}',
        headers: 'Content-Type: application/json',
        responseEncoding: encoding,
      },
    });
    return String(created['id']);
  };

  /** Invokes the integration as an IVR would, and opens its logged invocation's page. */
  const invokeAndOpen = async (id: string) => {
    const answer = await harness.api('POST', `/integrations/${id}/invoke`, {});
    const deliveryId = String(answer['deliveryId']);
    // The IVR log is written a moment after the answer.
    await expect
      .poll(async () => (await harness.call('GET', `/deliveries/${deliveryId}`)).status, WAIT)
      .toBe(200);
    await harness.page.goto(`${harness.base}/#/deliveries/${deliveryId}`);
    await harness.page.locator('details.attempt').first().waitFor();
  };

  const responseBody = (): Locator =>
    harness.page
      .locator('details.attempt .exchange-part', {
        has: harness.page.locator('h4', { hasText: 'Response' }),
      })
      .locator('pre')
      .last();

  it('says that a response body longer than 64 KiB was cut', async () => {
    await invokeAndOpen(await integration('Big answer', 'big', 'json'));
    const shown = (await responseBody().textContent()) ?? '';
    expect(shown.startsWith('{"items":[{"id":0,')).toBe(true);
    expect(shown.slice(-30)).toMatch(/\n…\(cut\)$/);
  });

  it('reported no script error and no Content-Security-Policy refusal', () => {
    expect(harness.pageErrors).toEqual([]);
  });
});
