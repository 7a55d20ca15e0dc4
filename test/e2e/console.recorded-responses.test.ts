/**
 * How the console shows a recorded response (a delivery's attempts, an IVR invocation's log, an
 * integration's test), in a real browser against the built service and a local receiver: a body
 * cut at 64 KiB says so; a body is laid out as its integration's response encoding reads it (JSON
 * and XML indented, their tokens and text as received; text as it came), and whatever it holds is
 * text on the page, never markup. A failed IVR invocation offers no retry; one whose answer was
 * another invocation's, or came after its deadline, says so.
 */
import type { Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConsole, WAIT, type ConsoleHarness } from '../helpers/console-browser.js';

/** More than the 64 KiB an attempt keeps. */
const BIG = JSON.stringify({
  items: Array.from({ length: 3000 }, (_, i) => ({ id: i, name: 'x'.repeat(20) })),
});

const JSON_BODY =
  '{"customer":{"balance":12.50,"big":12345678901234567890},"items":[1,2],"empty":{},"none":[],"note":"a, b: {c} [d]","q":"say \\"hi\\""}';
const JSON_SHOWN = `{
  "customer": {
    "balance": 12.50,
    "big": 12345678901234567890
  },
  "items": [
    1,
    2
  ],
  "empty": {},
  "none": [],
  "note": "a, b: {c} [d]",
  "q": "say \\"hi\\""
}`;

const XML_BODY =
  '<?xml version="1.0"?>\n<r xmlns:a="urn:a"><account id="1" note="a > b"><balance>12.50</balance><a:owner>Ana &amp; Bo</a:owner></account><!-- c > d --><msg>&lt;img src=x onerror=alert(1)&gt;</msg><raw><![CDATA[<b>x</b>]]></raw><e/>\n  <f></f></r>';
const XML_SHOWN = `<?xml version="1.0"?>
<r xmlns:a="urn:a">
  <account id="1" note="a > b">
    <balance>12.50</balance>
    <a:owner>Ana &amp; Bo</a:owner>
  </account>
  <!-- c > d -->
  <msg>&lt;img src=x onerror=alert(1)&gt;</msg>
  <raw><![CDATA[<b>x</b>]]></raw>
  <e/>
  <f></f>
</r>`;

/** Markup a page would run or draw, were it not text. */
const HOSTILE = `<img src="x" onerror="document.title='owned'"><b id="bold">bold</b>\n  <script>document.title='owned'</script>`;

describe('recorded responses in the console', () => {
  let harness: ConsoleHarness;

  beforeAll(async () => {
    harness = await openConsole();
    harness.answer((request, response) => {
      const [, what] = /^\/(\w+)/.exec(request.url) ?? [];
      const bodies: Record<string, [string, string]> = {
        big: ['application/json', BIG],
        json: ['application/json', JSON_BODY],
        xml: ['application/xml', XML_BODY],
        hostile: ['text/html', HOSTILE],
      };
      if (what === 'slow') {
        setTimeout(() => {
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end('{"balance":"12.50"}');
        }, 600);
        return;
      }
      if (what === 'fail') {
        response.writeHead(503, { 'content-type': 'application/json' });
        response.end('{"error":"down"}');
        return;
      }
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

  /** Invokes the integration as an IVR would; answers the logged invocation's id. */
  const invoke = async (id: string, body: object = {}) => {
    const answer = await harness.api('POST', `/integrations/${id}/invoke`, body);
    return String(answer['deliveryId']);
  };

  /** Opens a logged invocation's page (the IVR log is written a moment after the answer). */
  const open = async (deliveryId: string) => {
    await expect
      .poll(async () => (await harness.call('GET', `/deliveries/${deliveryId}`)).status, WAIT)
      .toBe(200);
    await harness.page.goto(`${harness.base}/#/deliveries/${deliveryId}`);
    await harness.page.locator('details.attempt').first().waitFor();
  };

  const invokeAndOpen = async (id: string) => open(await invoke(id));

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

  it('shows a JSON answer indented, each value as it came', async () => {
    await invokeAndOpen(await integration('JSON answer', 'json', 'json'));
    expect(await responseBody().textContent()).toBe(JSON_SHOWN);
  });

  it('shows an XML answer indented, its text and markup as they came', async () => {
    await invokeAndOpen(await integration('XML answer', 'xml', 'xml'));
    expect(await responseBody().textContent()).toBe(XML_SHOWN);
  });

  it('shows a text answer, or one that is not what its encoding says, as it came, as text', async () => {
    const title = await harness.page.title();
    for (const encoding of ['text', 'json', 'xml'] as const) {
      await invokeAndOpen(await integration(`Hostile ${encoding}`, 'hostile', encoding));
      expect(await responseBody().textContent()).toBe(HOSTILE);
      // What the integration expected and did not get is said.
      const note = harness.page.locator('details.attempt .body-note');
      if (encoding === 'text') expect(await note.count()).toBe(0);
      else
        expect(await note.textContent()).toBe(
          `Not ${encoding.toUpperCase()}, the integration's response encoding: shown as it came.`,
        );
      const attempt = harness.page.locator('details.attempt');
      expect(await attempt.locator('img, b, script').count()).toBe(0);
      expect(await harness.page.title()).toBe(title);
    }
  });

  it('offers no retry for a failed IVR invocation, which the API never retries', async () => {
    const { page } = harness;
    await invokeAndOpen(await integration('Down', 'fail', 'json'));
    expect(await page.locator('dl.facts').textContent()).toContain('Statusfailed');
    expect(await page.locator('.delivery .actions button').count()).toBe(0);
    expect(await page.locator('.ivr-once').textContent()).toBe(
      'An IVR invocation: run once while the caller waited, never retried.',
    );
  });

  it("says when an IVR invocation's answer was another's, or came after its deadline", async () => {
    const { page, api, receiverUrl } = harness;
    // Identical invocations share the request in flight and the cached answer.
    const created = await api('POST', '/integrations', {
      name: 'Balance',
      type: 'http',
      config: {
        url: `${receiverUrl}/slow`,
        method: 'POST',
        body: '{}',
        headers: 'Content-Type: application/json',
        responseEncoding: 'json',
      },
      options: {
        cacheTtlSeconds: 60,
        responseVariables: [{ name: 'balance', path: 'balance' }],
      },
    });
    const id = String(created['id']);
    const sample = { contact: { phone: '+15550001234' } };
    // The first sends the request and gives up at 200 ms; the second waits for its answer.
    const first = invoke(id, { ...sample, timeoutMs: 200 });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const [sender, sharer] = await Promise.all([first, invoke(id, { ...sample, timeoutMs: 2000 })]);

    await open(sender);
    expect(await page.locator('details.attempt').textContent()).toContain('timeout: ');
    expect(await page.locator('.ivr-late').textContent()).toBe(
      'This answer came after the invocation’s deadline: its caller got a timeout, not this answer.',
    );
    expect(await page.locator('.ivr-shared').count()).toBe(0);

    await open(sharer);
    const shared = page.locator('.ivr-shared');
    expect(await shared.textContent()).toBe(
      `The answer of IVR invocation ${sender} (cached, or its request shared while in flight): this invocation sent no request of its own.`,
    );
    expect(await page.locator('.ivr-late').count()).toBe(0);
    await shared.locator('a').click();
    await page.waitForURL(new RegExp(`#/deliveries/${sender}$`), WAIT);
  });

  it('lays out only what reads as its encoding, whatever else it holds', async () => {
    // The module the pages use, run in the page (a string: vitest would rewrite an import()).
    const laid = (body: string, encoding: string) =>
      harness.page.evaluate<string | null>(
        `import('/console/response-body.js').then((m) => m.formatBody(${JSON.stringify(body)}, ${JSON.stringify(encoding)}) ?? null)`,
      );
    expect(await laid('42', 'json')).toBe('42');
    expect(await laid(' [ "\\u00e9\\\\", -1.5e+3 , true,null ] ', 'json')).toBe(
      '[\n  "\\u00e9\\\\",\n  -1.5e+3,\n  true,\n  null\n]',
    );
    expect(await laid('{"a":1', 'json')).toBeNull();
    expect(await laid('', 'json')).toBeNull();
    // A DOCTYPE with its internal subset, mixed content, a single-quoted attribute holding '>'.
    expect(
      await laid("<!DOCTYPE r [<!ENTITY x 'y'>]><r a='>'><p>Hi <b>you</b> there</p></r>", 'xml'),
    ).toBe(
      "<!DOCTYPE r [<!ENTITY x 'y'>]>\n<r a='>'>\n  <p>\n    Hi\n    <b>you</b>\n    there\n  </p>\n</r>",
    );
    // Not XML: misnested, unclosed, two roots, text outside the root.
    for (const body of ['<a><b></a></b>', '<a>', '<a/><b/>', 'x<a/>', '<a><!-- x</a>']) {
      expect(await laid(body, 'xml'), body).toBeNull();
    }
    expect(await laid('  as\n it came ', 'text')).toBe('  as\n it came ');
  });

  it('lays out the test answer the same way', async () => {
    const id = await integration('Tested', 'json', 'json');
    await harness.page.goto(`${harness.base}/#/integrations/${id}`);
    await harness.page.locator('form.test-panel button', { hasText: 'Send' }).click();
    const body = harness.page.locator('form.test-panel .response-body');
    await expect.poll(() => body.textContent(), WAIT).toBe(JSON_SHOWN);
  });

  it('reported no script error and no Content-Security-Policy refusal', () => {
    expect(harness.pageErrors).toEqual([]);
  });
});
