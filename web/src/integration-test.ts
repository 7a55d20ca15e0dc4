/** An integration's test: render the saved version with sample data, or render and send it. */
import { api } from './api.js';
import { badge, h, pre, replace } from './dom.js';
import { busy, errorBox, textarea } from './forms.js';
import { responseBody, type ResponseEncoding } from './response-body.js';
import type { TestResult } from './types.js';

/**
 * Render the saved version with sample data, or render and send it; shows the request and the
 * answer, its body as `encoding()` (the saved version's response encoding) reads it.
 */
export function testPanel(id: string, encoding: () => ResponseEncoding | undefined): HTMLElement {
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
      replace(out, testResult(result, encoding()));
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

export function testResult(result: TestResult, encoding?: ResponseEncoding): HTMLElement {
  const request = result.request;
  return h(
    'div',
    { class: 'test-exchange' },
    result.outcome === undefined
      ? null
      : h(
          'p',
          { class: `outcome ${result.outcome.success ? 'ok' : 'bad'}` },
          `${result.outcome.kind}: ${result.outcome.message}`,
        ),
    result.error === undefined ? null : h('p', { class: 'outcome bad' }, result.error),
    h(
      'div',
      { class: 'exchange' },
      h(
        'div',
        { class: 'request' },
        h('h3', {}, 'Request'),
        request === null
          ? h('p', { class: 'muted' }, 'Nothing could be rendered.')
          : [
              pre(`${request.method} ${request.url}\n${headerText(request.headers)}`, {
                class: 'request-head',
              }),
              request.body === null ? null : pre(request.body, { class: 'request-body' }),
            ],
      ),
      result.response === undefined
        ? null
        : h(
            'div',
            { class: 'response' },
            h('h3', {}, 'Response ', badge(String(result.response.status))),
            pre(headerText(result.response.headers), { class: 'response-head' }),
            result.response.bodyError === undefined
              ? null
              : h('p', { class: 'bad' }, result.response.bodyError),
            responseBody(result.response.body, encoding, result.response.truncated, {
              class: 'response-body',
            }),
          ),
    ),
    h('p', { class: 'muted' }, `Version ${result.version}, ${result.durationMs} ms`),
  );
}
