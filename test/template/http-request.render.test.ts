/**
 * compileHttpRequest(): the body's escaping follows the Content-Type line, the URL follows the
 * base-URL rule, a header that would carry CR/LF/NUL makes the render a failure value, and the
 * whole request sees one `system` instant. SOAP parameters render as plain text.
 */
import { describe, expect, it } from 'vitest';
import {
  bodyContextFor,
  compileHttpRequest,
  type HttpRequestTemplateInput,
} from '../../src/template/http-request-template.js';
import { compileSoapParams } from '../../src/template/soap-params-template.js';
import { compileTemplate } from '../../src/template/compile.js';
import { eventScope, type RenderScope } from '../../src/template/scope.js';

const scope: RenderScope = eventScope({
  event: {
    id: 'ev-1',
    type: 'call.ended',
    occurredAt: '2026-11-27T10:00:00Z',
    campaignId: 'cmp-1',
    call: { id: 'c-9', phone: '+15551234567', status: 'answered', duration: 42 },
    contact: {
      id: 'k-3',
      phone: '+15551234567',
      firstName: 'Ana "A" & <B>',
      custom: { plan: 'gold' },
    },
  },
  campaign: { id: 'cmp-1', name: 'Spring', type: 'voice' },
  integration: { id: 'int-1', name: 'CRM push' },
  now: Date.parse('2026-11-27T10:00:01Z'),
});

const compile = (input: Partial<HttpRequestTemplateInput>) => {
  const result = compileHttpRequest({
    url: 'https://crm.example/calls',
    method: 'POST',
    headers: '',
    body: '',
    ...input,
  });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.request;
};
const renderOk = (input: Partial<HttpRequestTemplateInput>, s: RenderScope = scope) => {
  const rendered = compile(input).render(s);
  if (!rendered.ok) throw new Error(rendered.error.message);
  return rendered.request;
};

describe('the body context comes from Content-Type', () => {
  it('maps media types to json, xml, form and text', () => {
    expect(bodyContextFor('application/json; charset=utf-8')).toBe('json');
    expect(bodyContextFor('application/vnd.api+json')).toBe('json');
    expect(bodyContextFor('text/xml')).toBe('xml');
    expect(bodyContextFor('application/soap+xml; charset=utf-8')).toBe('xml');
    expect(bodyContextFor('Application/X-WWW-Form-Urlencoded')).toBe('form');
    expect(bodyContextFor('text/plain')).toBe('text');
    expect(bodyContextFor(undefined)).toBe('text');
  });

  it('renders the SPEC §8.1 example', () => {
    const request = renderOk({
      url: 'https://crm.example/calls?phone={{contact.phone}}',
      headers: 'Content-Type: application/json\nAuthorization: Bearer abc',
      body: '{"status": "{{call.status}}", "name": "{{contact.firstName}}"}',
    });
    expect(request).toEqual({
      method: 'POST',
      url: 'https://crm.example/calls?phone=%2B15551234567',
      headers: [
        ['Content-Type', 'application/json'],
        ['Authorization', 'Bearer abc'],
      ],
      body: '{"status": "answered", "name": "Ana \\"A\\" & <B>"}',
    });
  });

  it("reads call.campaignId from the event's campaignId unless the call has its own", () => {
    const url = 'https://crm.example/c/{{call.campaignId}}';
    expect(renderOk({ url }).url).toBe('https://crm.example/c/cmp-1');
    const event = { id: 'e', type: 'call.ended' as const, occurredAt: '', contact: {} };
    const own = eventScope({ event: { ...event, campaignId: 'cmp-1', call: { campaignId: 'x' } } });
    expect(renderOk({ url }, own).url).toBe('https://crm.example/c/x');
    // null is none of its own; "" is the dialer's own value, kept.
    const none = eventScope({
      event: { ...event, campaignId: 'cmp-1', call: { campaignId: null } },
    });
    expect(renderOk({ url }, none).url).toBe('https://crm.example/c/cmp-1');
    const empty = eventScope({
      event: { ...event, campaignId: 'cmp-1', call: { campaignId: '' } },
    });
    expect(renderOk({ url: 'https://crm.example/c?id={{call.campaignId}}' }, empty).url).toBe(
      'https://crm.example/c?id=',
    );
  });

  it('escapes the same token for XML, form and text bodies', () => {
    const body = (contentType: string, template: string) =>
      renderOk({ headers: `Content-Type: ${contentType}`, body: template }).body;
    expect(body('text/xml', '<n>{{contact.firstName}}</n>')).toBe(
      '<n>Ana &quot;A&quot; &amp; &lt;B&gt;</n>',
    );
    expect(body('application/x-www-form-urlencoded', 'n={{contact.firstName}}')).toBe(
      'n=Ana+%22A%22+%26+%3CB%3E',
    );
    expect(body('text/plain', 'Hi {{contact.firstName}}')).toBe('Hi Ana "A" & <B>');
  });

  it('fails a multipart render when a value would write the boundary, and only then', () => {
    const headers = 'Content-Type: multipart/form-data; boundary="b-42"';
    const body =
      '--b-42\r\nContent-Disposition: form-data; name="n"\r\n\r\n{{contact.firstName}}\r\n--b-42--\r\n';
    const withName = (firstName: string) =>
      compile({ headers, body }).render({ ...scope, contact: { firstName } });
    expect(withName('Ana -- b-42')).toMatchObject({
      ok: true,
      request: { body: body.replace('{{contact.firstName}}', 'Ana -- b-42') },
    });
    for (const evil of ['x\r\n--b-42\r\nContent-Disposition: form-data; name="admin"', '--b-42']) {
      expect(withName(evil)).toEqual({
        ok: false,
        error: {
          field: 'config.body',
          message:
            '{{contact.firstName}} would write the multipart boundary "--b-42", which starts a new part: the request is not sent',
        },
      });
    }
    // A value that completes a boundary with the literal text beside it counts too.
    const split = compile({ headers, body: '--b-42\r\n\r\n{{contact.firstName}}-b-42--' });
    expect(split.render({ ...scope, contact: { firstName: '\r\n-' } }).ok).toBe(false);
    // `raw` is sent unchecked, as documented.
    const raw = compile({ headers, body: '{{contact.firstName | raw}}' });
    expect(raw.render({ ...scope, contact: { firstName: '--b-42' } }).ok).toBe(true);
  });

  it('sends no body for GET', () => {
    expect(renderOk({ method: 'get', body: 'x' })).toMatchObject({ method: 'GET', body: null });
  });
});

describe('the URL rule', () => {
  it('percent-encodes every token as a component', () => {
    const request = renderOk({
      url: 'https://crm.example/c/{{contact.custom.plan}}/{{contact.firstName}}?q={{contact.firstName}}',
    });
    expect(request.url).toBe(
      'https://crm.example/c/gold/Ana%20%22A%22%20%26%20%3CB%3E?q=Ana%20%22A%22%20%26%20%3CB%3E',
    );
  });

  it('keeps a leading token as a base URL when it holds an absolute http(s) URL', () => {
    const input = { url: '{{contact.custom.crm}}/calls/{{call.id}}?p={{contact.phone}}' };
    const withBase = (crm: unknown) =>
      compile(input).render({ ...scope, contact: { custom: { crm }, phone: '+1 555' } });
    expect(withBase('https://crm.example/api v2')).toEqual({
      ok: true,
      request: expect.objectContaining({
        url: 'https://crm.example/api%20v2/calls/c-9?p=%2B1%20555',
      }),
    });
    expect(withBase('https://crm.example/a%2Fb%zz')).toMatchObject({
      ok: true,
      request: { url: 'https://crm.example/a%2Fb%25zz/calls/c-9?p=%2B1%20555' },
    });
    for (const bad of ['crm.example', 'javascript:alert(1)//', undefined]) {
      const result = withBase(bad);
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error.field).toBe('config.url');
        expect(result.error.message).toMatch(
          /its leading token \{\{contact\.custom\.crm\}\} must hold an absolute http\(s\) URL/,
        );
      }
    }
  });

  it('refuses a value that would make a `.` or `..` path segment', () => {
    const result = compile({ url: 'https://crm.example/users/{{contact.custom.plan}}/x' }).render({
      contact: { custom: { plan: '..' } },
    });
    expect(result).toEqual({
      ok: false,
      error: {
        field: 'config.url',
        message: 'renders a path with a `.` or `..` segment, which would change the path',
      },
    });
  });
});

describe('a query or fragment is not a path', () => {
  it('renders a URL without a path whose query or fragment holds `/../`', () => {
    for (const url of [
      'https://crm.example?next=/a/../b&id={{call.id}}',
      'https://crm.example#/./{{call.id}}',
    ]) {
      const result = compile({ url }).render({ call: { id: '7' } });
      expect(result.ok, url).toBe(true);
    }
    const path = compile({ url: 'https://crm.example/a/{{call.id}}?next=/x/../y' }).render({
      call: { id: '..' },
    });
    expect(path.ok).toBe(false);
  });
});

describe('headers', () => {
  it('refuses the delivery when a value would carry CR, LF or NUL, naming header and token', () => {
    const compiled = compile({ headers: 'Accept: */*\nX-Name: Dr {{contact.firstName}}' });
    for (const [value, what] of [
      ['Ana\r\nX-Evil: 1', 'a carriage return (U+000D)'],
      ['Ana\nB', 'a line feed (U+000A)'],
      ['Ana\u0000', 'NUL (U+0000)'],
    ] as const) {
      expect(compiled.render({ contact: { firstName: value } })).toEqual({
        ok: false,
        error: {
          field: 'config.headers',
          line: 2,
          message: `X-Name: the value would contain ${what} from {{contact.firstName}}; a header value cannot carry it, so the request is not sent`,
        },
      });
    }
  });

  it('sends non-ASCII values as UTF-8 bytes', () => {
    const request = renderOk(
      { headers: 'X-Name: {{contact.firstName}}' },
      {
        contact: { firstName: 'María Ω' },
      },
    );
    const [, value] = request.headers[0] ?? [];
    expect(Buffer.from(value ?? '', 'latin1').toString('utf8')).toBe('María Ω');
  });
});

describe('system values', () => {
  it('are the same instant in every field of one request', () => {
    const request = renderOk(
      {
        url: 'https://crm.example/?t={{system.timestamp}}',
        headers: 'X-At: {{system.now}}',
        body: '{{system.now | date:"epoch"}}',
      },
      { contact: {} },
    );
    const t = new URL(request.url).searchParams.get('t');
    expect(request.body).toBe(t);
    expect(Math.floor(Date.parse(request.headers[0]?.[1] ?? '') / 1000)).toBe(Number(t));
  });

  it('can be passed in', () => {
    const result = compileTemplate('{{system.now}} {{system.timestamp}}', 'text', { field: 'f' });
    expect(result.ok && result.template.render(scope)).toEqual({
      ok: true,
      value: '2026-11-27T10:00:01.000Z 1795773601',
    });
  });
});

describe('SOAP parameters', () => {
  it('render as plain text for the SOAP library to escape, in order', () => {
    const compiled = compileSoapParams([
      { name: 'phone', value: '{{contact.phone | e164}}' },
      { name: 'note', value: 'Call {{call.status}} by {{contact.firstName}}' },
      { name: 'customer.plan', value: '{{contact.custom.plan | upper}}' },
    ]);
    if (!compiled.ok) throw new Error('compile');
    expect(compiled.params.tokens).toEqual([
      'contact.phone',
      'call.status',
      'contact.firstName',
      'contact.custom.plan',
    ]);
    expect(compiled.params.render(scope)).toEqual({
      ok: true,
      params: [
        { name: 'phone', value: '+15551234567' },
        { name: 'note', value: 'Call answered by Ana "A" & <B>' },
        { name: 'customer.plan', value: 'GOLD' },
      ],
    });
  });
});
