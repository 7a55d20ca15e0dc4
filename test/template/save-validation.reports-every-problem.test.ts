/**
 * Saving an integration: every unknown token, unknown filter, bad filter argument and
 * unterminated `{{` of every field is reported at once, each with field, line and column.
 */
import { describe, expect, it } from 'vitest';
import { compileTemplate } from '../../src/template/compile.js';
import { compileHttpRequest } from '../../src/template/http-request-template.js';
import { compileSoapParams } from '../../src/template/soap-params-template.js';

const problemsOf = (source: string, context: Parameters<typeof compileTemplate>[1] = 'text') => {
  const result = compileTemplate(source, context, { field: 'config.body' });
  return result.ok ? [] : result.problems;
};

describe('one template', () => {
  it('reports every problem, in order, with line and column', () => {
    const source = [
      'Hello {{contact.fistName}} {{contact.phone | uper}}',
      '  {{call.startedAt | date:"YYYY-QQ"}} {{call.startedAt | date:"iso","Mars/Olympus"}}',
      '{{contact.phone | e164:"XX"}} {{call.id | default}} {{call.id | upper:"x"}} {{ nope }}',
      'tail {{call.id',
    ].join('\n');
    expect(problemsOf(source)).toEqual([
      {
        field: 'config.body',
        line: 1,
        column: 9,
        message: 'unknown token "contact.fistName" (did you mean "contact.firstName"?)',
      },
      {
        field: 'config.body',
        line: 1,
        column: 46,
        message: 'unknown filter "uper" (did you mean "upper"?)',
      },
      {
        field: 'config.body',
        line: 2,
        column: 27,
        message: expect.stringMatching(/^`date`: unknown date pattern letter "Q"/),
      },
      {
        field: 'config.body',
        line: 2,
        column: 69,
        message: expect.stringMatching(/^`date`: unknown time zone "Mars\/Olympus"/),
      },
      {
        field: 'config.body',
        line: 3,
        column: 24,
        message: '`e164`: "XX" is not a country code (ISO 3166 alpha-2, e.g. "US")',
      },
      {
        field: 'config.body',
        line: 3,
        column: 43,
        message: '`default` takes 1 argument: default:"text" or a number',
      },
      { field: 'config.body', line: 3, column: 65, message: '`upper` takes no arguments' },
      { field: 'config.body', line: 3, column: 80, message: 'unknown token "nope"' },
      {
        field: 'config.body',
        line: 4,
        column: 6,
        message: 'unterminated `{{`: no matching `}}`',
      },
    ]);
  });

  it('reports syntax errors inside an expression and goes on with the next one', () => {
    expect(
      problemsOf('{{ }} {{contact.}} {{call.id | }} {{call.id | default:x}} {{call.id "a"}}'),
    ).toEqual([
      expect.objectContaining({ column: 1, message: 'empty `{{ }}`: name a token' }),
      expect.objectContaining({ column: 17, message: 'expected a name after `.`, found `}}`' }),
      expect.objectContaining({
        column: 32,
        message: 'expected a filter name after `|`, found `}}`',
      }),
      expect.objectContaining({
        column: 55,
        message: 'expected a quoted string or a number, found "x"',
      }),
      expect.objectContaining({ column: 69, message: 'expected `|` or `}}`, found "\\""' }),
    ]);
    expect(problemsOf('{{call.id | default:"open}}')).toEqual([
      expect.objectContaining({ column: 21, message: 'unterminated string' }),
    ]);
  });

  it('accepts every catalog token, any custom field or IVR variable, and literal text', () => {
    expect(
      problemsOf(
        '{{contact.custom.plan}} {{contact.custom["Plan type"]}} {{ivr.account}} {{contact.custom | json}} {{"{{"}}',
      ),
    ).toEqual([]);
    expect(problemsOf('{{contact.custom.a.b}} {{ivr}} {{call}} {{call.id.x}}')).toHaveLength(4);
  });

  it('refuses `raw` in header values and anywhere but last', () => {
    const header = compileTemplate('{{call.id | raw}}', 'header', { field: 'config.headers' });
    expect(header.ok ? [] : header.problems.map((p) => p.message)).toEqual([
      '`raw` is not allowed in header values: a header is never sent unchecked',
    ]);
    expect(problemsOf('{{call.id | raw | upper}}').map((p) => p.message)).toEqual([
      '`raw` must be the last filter',
    ]);
  });

  it('checks a JSON body’s shape with tokens standing in, and points at the error', () => {
    expect(problemsOf('{"a": {{call.id}},\n "b": "{{call.id}}" "c": 1}', 'json')).toEqual([
      {
        field: 'config.body',
        line: 2,
        column: 21,
        message: 'is not valid JSON: expected `,` or `}`, found "\\""',
      },
    ]);
    expect(problemsOf('{"a": {{call.id | raw}} {{call.id | raw}}}', 'json')).toEqual([]);
  });

  it('checks an XML body’s shape and refuses tokens inside tags or comments', () => {
    expect(problemsOf('<a>\n<b>{{call.id}}</c></a>', 'xml')).toEqual([
      expect.objectContaining({
        line: 2,
        column: 15,
        message: expect.stringMatching(/^is not well-formed XML/),
      }),
    ]);
    expect(
      problemsOf('<a {{call.id}}="1"><!-- {{call.id}} --></a>', 'xml').map((p) => p.message),
    ).toEqual([
      "a token cannot stand inside a tag's name or attribute list (put it in an attribute value or in element text)",
      'a token cannot stand inside an XML comment',
    ]);
  });

  it('refuses an XML body whose last tag stops before its `>`, naming where it starts', () => {
    expect(problemsOf('<r>\n  <b>{{call.id}}</b>\n</r>\n<c/', 'xml')).toEqual([
      {
        field: 'config.body',
        line: 4,
        column: 1,
        message: "is not well-formed XML: Tag 'c' is not closed: the document ends before its '>'.",
      },
    ]);
  });

  it('refuses an XML body with content after its root element, naming where it starts', () => {
    const after = (what: string) =>
      `is not well-formed XML: ${what} after the root element 'r': only white space, comments and processing instructions may follow it.`;
    expect(problemsOf('<r>\n  <b>{{call.id}}</b>\n</r>\n<c id="{{call.id}}"/>', 'xml')).toEqual([
      { field: 'config.body', line: 4, column: 1, message: after("A second root element 'c'") },
    ]);
    // A token after an empty-element root renders text outside it.
    expect(problemsOf('<r id="{{call.id}}"/>\n{{call.id}}', 'xml')).toEqual([
      { field: 'config.body', line: 2, column: 1, message: after('Text') },
    ]);
    expect(problemsOf('<?xml version="1.0"?>\n<r/>\n<!-- v2 -->\n<?audit?>\n', 'xml')).toEqual([]);
  });

  it("refuses '--' inside an XML comment and an instruction without a target, wherever they are", () => {
    const bad = (line: number, column: number, message: string) => [
      { field: 'config.body', line, column, message: `is not well-formed XML: ${message}` },
    ];
    const dashes = "'--' inside a comment: XML allows it only to close the comment.";
    expect(problemsOf('<r>\n  <!-- v1 -- v2 -->\n  {{call.id}}\n</r>', 'xml')).toEqual(
      bad(2, 11, dashes),
    );
    expect(problemsOf('<!-- a -- b -->\n<r/>', 'xml')).toEqual(bad(1, 8, dashes));
    expect(problemsOf('<r><!-- a ---></r>', 'xml')).toEqual(bad(1, 11, dashes));
    const target = "A processing instruction needs a target name right after '<?'.";
    expect(problemsOf('<r><??></r>', 'xml')).toEqual(bad(1, 4, target));
    expect(problemsOf('<r/>\n<? x?>', 'xml')).toEqual(bad(2, 1, target));
    // Allowed: single dashes in a comment, '--' in a CDATA section, an attribute or text.
    expect(
      problemsOf(
        '<r a="--"><!-- a - b - c --><![CDATA[ <!-- -- --> ]]>x -- y<?pi a -- b?></r>',
        'xml',
      ),
    ).toEqual([]);
  });

  it('cuts a long XML parser message to 200 characters, as response variables do', () => {
    // The validator quotes every unclosed tag: some 60 KB of message for these 12 KB.
    const [problem, ...rest] = problemsOf(`<r>${'<a>'.repeat(4_000)}{{call.id}}`, 'xml');
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ field: 'config.body', line: 1 });
    expect(problem!.message).toMatch(/^is not well-formed XML: Invalid '\[.*…$/s);
    expect(problem!.message.length).toBe('is not well-formed XML: '.length + 200 + 1);
  });

  it('places an XML body without a root element at line 1, column 1 (found by compile.fuzz)', () => {
    for (const body of ['<?xml version="1.0"?>', '<![CDATA[\u{10000}', '<!--\u0000\u{10000}']) {
      expect(problemsOf(body, 'xml')).toEqual([
        {
          field: 'config.body',
          line: 1,
          column: 1,
          message: 'is not well-formed XML: Start tag expected.',
        },
      ]);
    }
  });

  it('requires a URL to start with http(s):// or a base-URL token', () => {
    const url = (source: string) => {
      const result = compileTemplate(source, 'url', { field: 'config.url' });
      return result.ok ? [] : result.problems.map((p) => p.message);
    };
    expect(url('ftp://x/{{call.id}}')).toEqual([
      'must start with http:// or https://, or with a token holding a base URL',
    ]);
    expect(url('https://crm.example/{{call.id}}')).toEqual([]);
    expect(url('{{contact.custom.crmUrl}}/calls')).toEqual([]);
  });

  it('refuses a URL that no token value could make valid, and a password in the URL', () => {
    const url = (source: string) => {
      const result = compileTemplate(source, 'url', { field: 'config.url' });
      return result.ok ? [] : result.problems.map((p) => p.message);
    };
    // Every render of these would fail: a space in the host, a port that is not a number.
    expect(url('http://exa mple.com/{{call.id}}')).toEqual(['is not a valid URL']);
    expect(url('https://crm.example:80x/{{call.id}}')).toEqual(['is not a valid URL']);
    const password = [
      'has a password in it, which would be stored and shown in clear: send it in an `Authorization: Basic …` header, which is kept secret',
    ];
    expect(url('https://bob:hunter2@crm.example/calls')).toEqual(password);
    expect(url('https://bob:{{contact.custom.pin}}@crm.example/{{call.id}}')).toEqual(password);
    // A user name alone is not a secret; a token in the host stands for any host name.
    expect(url('https://bob@crm.example/{{call.id}}')).toEqual([]);
    expect(url('https://{{contact.custom.tenant}}.crm.example/calls')).toEqual([]);
    // A port from a token renders a valid URL too.
    expect(url('https://crm.example:{{contact.custom.port}}/calls')).toEqual([]);
  });

  it('says a bare group names no value', () => {
    expect(problemsOf('{{ivr}}').map((p) => p.message)).toEqual([
      '"ivr" is a group, not a value: name one of its values, as in {{ivr.<name>}}',
    ]);
  });
});

describe('a whole integration', () => {
  it('reports the problems of URL, headers and body together, headers by their own line', () => {
    const result = compileHttpRequest({
      url: 'https://crm.example/{{call.idd}}',
      method: 'POST',
      headers: [
        'Content-Type: application/json',
        'X-Agent: {{contact.nam}}',
        '',
        'Bad Name: x',
        'X-Ok:    {{call.id | raw}}',
        'Content-Length: 12',
        'no colon here',
      ].join('\n'),
      body: '{"status": "{{call.stauts}}"}',
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      expect.objectContaining({ field: 'config.url', line: 1, column: 23 }),
      expect.objectContaining({
        field: 'config.headers',
        line: 2,
        column: 12,
        message: expect.stringMatching(/^unknown token "contact.nam"/),
      }),
      expect.objectContaining({
        field: 'config.headers',
        line: 4,
        column: 1,
        message: expect.stringMatching(/is not a valid header name/),
      }),
      expect.objectContaining({
        field: 'config.headers',
        line: 5,
        column: 22,
        message: expect.stringMatching(/^`raw` is not allowed/),
      }),
      expect.objectContaining({
        field: 'config.headers',
        line: 6,
        column: 1,
        message: 'Content-Length is set by Callhook for every request; remove this line',
      }),
      expect.objectContaining({
        field: 'config.headers',
        line: 7,
        column: 1,
        message: 'expected `Name: value`',
      }),
      expect.objectContaining({
        field: 'config.body',
        line: 1,
        column: 15,
        message: expect.stringMatching(/^unknown token "call.stauts"/),
      }),
    ]);
  });

  it('points into the field when the URL starts with blank lines or spaces', () => {
    const result = compileHttpRequest({
      method: 'GET',
      url: '\n  https://crm.example/{{call.idd}}',
      headers: '',
      body: '',
    });
    expect(result.ok ? [] : result.problems).toEqual([
      expect.objectContaining({ field: 'config.url', line: 2, column: 25 }),
    ]);
    const spaces = compileHttpRequest({
      method: 'GET',
      url: '   https://crm.example/{{call.idd}}',
      headers: '',
      body: '',
    });
    expect(spaces.ok ? [] : spaces.problems).toEqual([
      expect.objectContaining({ field: 'config.url', line: 1, column: 26 }),
    ]);
  });

  it('refuses a control character written into a header value, by line and column', () => {
    const result = compileHttpRequest({
      method: 'GET',
      url: 'https://crm.example/',
      headers: 'Accept: text/plain\nX-Note: a\rb {{call.id}}\nX-Nul: \u0000',
      body: '',
    });
    expect(result.ok ? [] : result.problems).toEqual([
      {
        field: 'config.headers',
        line: 2,
        column: 10,
        message: 'the value holds the control character U+000D, which no header can carry',
      },
      {
        field: 'config.headers',
        line: 3,
        column: 8,
        message: 'the value holds the control character U+0000, which no header can carry',
      },
    ]);
  });

  it('refuses a templated or repeated Content-Type (it decides the body’s escaping)', () => {
    const result = compileHttpRequest({
      url: 'https://crm.example/',
      method: 'POST',
      headers: 'Content-Type: {{contact.custom.type}}\ncontent-type: text/plain',
      body: '',
    });
    expect(result.ok ? [] : result.problems.map((p) => [p.line, p.column, p.message])).toEqual([
      [1, 15, 'Content-Type must be literal: it decides how the body is escaped'],
      [2, 1, 'Content-Type is already given on line 1'],
    ]);
  });

  it('refuses a repeated Host, which the HTTP client would refuse at every delivery', () => {
    const result = compileHttpRequest({
      url: 'https://10.0.0.7/calls',
      method: 'POST',
      headers: 'Host: crm.example\nX-Note: a\nhost: other.example',
      body: '',
    });
    expect(result.ok ? [] : result.problems.map((p) => [p.line, p.column, p.message])).toEqual([
      [3, 1, 'Host is already given on line 1: a request has one Host'],
    ]);
  });

  it('refuses a JSON or XML body with tokens but no Content-Type line, which would not escape them', () => {
    const untyped = (method: string, body: string, headers = '', judgeShape?: boolean) => {
      const result = compileHttpRequest(
        { url: 'https://crm.example/', method, headers, body },
        judgeShape === undefined ? {} : { judgeShape },
      );
      return result.ok ? [] : result.problems.map((p) => [p.field, p.line, p.column, p.message]);
    };
    const json =
      'is JSON, but config.headers has no Content-Type line, so its values would be inserted unescaped (a `"` in one would break it): add `Content-Type: application/json` to the headers, or `Content-Type: text/plain` to send it as written';
    const xml =
      'is an XML document, but config.headers has no Content-Type line, so its values would be inserted unescaped (a `<` or `&` in one would break it): add `Content-Type: application/xml` to the headers, or `Content-Type: text/plain` to send it as written';
    expect(untyped('POST', '{"n": "{{contact.firstName}}"}')).toEqual([
      ['config.body', 1, 1, json],
    ]);
    expect(untyped('PUT', '\n  [{"n": {{call.duration}}, "s": "{{call.status}}"}]')).toEqual([
      ['config.body', 2, 3, json],
    ]);
    expect(untyped('PATCH', '<call id="{{call.id}}"><s>{{call.status}}</s></call>')).toEqual([
      ['config.body', 1, 1, xml],
    ]);
    // Reported with the other problems of the integration.
    expect(
      untyped('DELETE', '{"n": "{{contact.fistName}}"}', 'X-Agent: {{contact.nam}}').map((p) =>
        p.slice(0, 3),
      ),
    ).toEqual([
      ['config.headers', 1, 12],
      ['config.body', 1, 1],
      ['config.body', 1, 10],
    ]);
    // Any Content-Type line says how to escape it, text/plain included.
    expect(untyped('POST', '{"n": "{{contact.firstName}}"}', 'Content-Type: text/plain')).toEqual(
      [],
    );
    expect(untyped('POST', '<r>{{call.id}}</r>', 'content-type: text/html')).toEqual([]);
    // Text, a body without tokens (no value goes in), a GET, and a stored integration are sent.
    expect(untyped('POST', 'call {{call.id}} ended: {{call.status}}')).toEqual([]);
    expect(untyped('POST', '{"n": "{{contact.firstName}}" broken')).toEqual([]);
    expect(untyped('POST', '{"kept": true}')).toEqual([]);
    expect(untyped('POST', '{{contact.custom | json}}')).toEqual([]);
    expect(untyped('GET', '{"n": "{{contact.firstName}}"}')).toEqual([]);
    expect(untyped('POST', '{"n": "{{contact.firstName}}"}', '', false)).toEqual([]);
  });

  it('does not check the body of a GET (it is not sent)', () => {
    const result = compileHttpRequest({
      url: 'https://crm.example/',
      method: 'GET',
      headers: '',
      body: '{{nonsense',
    });
    expect(result.ok).toBe(true);
  });

  it('names SOAP parameters by index', () => {
    const result = compileSoapParams([
      { name: 'phone', value: '{{contact.phone}}' },
      { name: 'note', value: 'Call {{call.stat}}\n{{call.id | date:"x":"y"}}' },
    ]);
    expect(result.ok ? [] : result.problems.map((p) => [p.field, p.line, p.column])).toEqual([
      ['config.params.1.value', 1, 8],
      ['config.params.1.value', 2, 21],
    ]);
  });
});
