import { describe, expect, it } from 'vitest';
import { useAppPerTest } from '../helpers/app.js';
import { DIALECTS } from '../helpers/store.js';
import { IntegrationStore } from '../../src/store/integration-store.js';

const http = {
  name: 'CRM push',
  type: 'http',
  config: {
    url: 'https://crm.example/calls',
    method: 'POST',
    headers: 'Content-Type: application/json\nAuthorization: Bearer s3cr3t-token-value',
  },
  options: { signing: { secret: `whsec_${Buffer.alloc(32, 7).toString('base64')}` } },
};
const soap = {
  name: 'Ticket',
  type: 'soap',
  config: {
    wsdlUrl: 'https://erp.example/ws?wsdl',
    operation: 'CreateTicket',
    params: [{ name: 'pin', value: '1234', secret: true }],
  },
};

// Each case: a malformed config or options, and the field the 400 must name. Before the fix,
// secrets were sealed even when the shape was wrong, and sealing a non-string threw (500).
const httpCases: { title: string; config?: object; options?: object; field: string }[] = [
  {
    title: 'headers given as an object',
    config: { headers: { Authorization: 'Bearer x' } },
    field: 'config.headers',
  },
  {
    title: 'signing given as a string',
    options: { signing: 'whsec_abc' },
    field: 'options.signing',
  },
  {
    title: 'a numeric signing secret',
    options: { signing: { secret: 42 } },
    field: 'options.signing.secret',
  },
  {
    // Base64 without its `=` padding: it passed the save check, then every signing threw.
    title: 'an unpadded signing secret',
    options: { signing: { secret: http.options.signing.secret.replace(/=+$/, '') } },
    field: 'options.signing.secret',
  },
  {
    title: 'a numeric previous signing secret',
    options: { signing: { secret: http.options.signing.secret, previousSecret: 42 } },
    field: 'options.signing.previousSecret',
  },
];
const soapCases: { title: string; config: object; field: string }[] = [
  { title: 'params given as "x"', config: { params: 'x' }, field: 'config.params' },
  { title: 'params given as [null]', config: { params: [null] }, field: 'config.params.0' },
  {
    title: 'a numeric secret parameter value',
    config: { params: [{ name: 'pin', value: 1234, secret: true }] },
    field: 'config.params.0.value',
  },
  {
    title: 'a numeric WS-Security password',
    config: { wsSecurity: { username: 'u', password: 1234 } },
    field: 'config.wsSecurity.password',
  },
];

describe.each(DIALECTS)('malformed integration definitions on %s', (backend) => {
  const fresh = useAppPerTest(backend, ['integration']);
  const { setup } = fresh;
  const call = (method: 'POST' | 'PUT' | 'PATCH', url: string, payload: object) =>
    fresh.t.app.inject({ method, url, headers: fresh.alice.headers, payload });
  /** What each request answered: status, error code and whether `details` names the field. */
  const outcome = (res: { statusCode: number; body: string }, field: string) => {
    const body = JSON.parse(res.body) as {
      error?: { code: string; details?: { field: string }[] };
    };
    const named = (body.error?.details ?? []).some((d) => d.field === field);
    return `${res.statusCode} ${body.error?.code ?? ''} ${named ? field : `(${field} not named)`}`;
  };
  const expected = (field: string) => `400 VALIDATION_FAILED ${field}`;

  it('answers 400 naming the field, not 500, on create, replace and patch (http)', async () => {
    await setup();
    const created = await call('POST', '/api/v1/integrations', http);
    expect(created.statusCode, created.body).toBe(201);
    const id = (created.json() as { id: string }).id;
    const got: Record<string, string> = {};
    const want: Record<string, string> = {};
    for (const c of httpCases) {
      const config = { ...http.config, ...c.config };
      const options = { ...http.options, ...c.options };
      const body = { name: http.name, config, options };
      const patch = {
        ...(c.config === undefined ? {} : { config: c.config }),
        ...(c.options === undefined ? {} : { options: c.options }),
      };
      got[`POST ${c.title}`] = outcome(
        await call('POST', '/api/v1/integrations', { ...body, type: 'http' }),
        c.field,
      );
      got[`PUT ${c.title}`] = outcome(
        await call('PUT', `/api/v1/integrations/${id}`, body),
        c.field,
      );
      got[`PATCH ${c.title}`] = outcome(
        await call('PATCH', `/api/v1/integrations/${id}`, patch),
        c.field,
      );
      for (const m of ['POST', 'PUT', 'PATCH']) want[`${m} ${c.title}`] = expected(c.field);
    }
    expect(got).toEqual(want);
  });

  it('answers 400 naming the field, not 500, on create, replace and patch (soap)', async () => {
    await setup();
    // Stored directly: saving through the API would fetch the WSDL, which plays no part here.
    const stored = await new IntegrationStore(fresh.t.store.store).create(fresh.alice.id, {
      name: soap.name,
      description: '',
      type: 'soap',
      enabled: true,
      config: {
        ...soap.config,
        params: [{ name: 'pin', value: fresh.t.services.secretBox.seal('1234'), secret: true }],
        headers: '',
        responseEncoding: 'xml',
      },
      options: { timeoutMs: 1000, retry: { maxAttempts: 1 }, responseVariables: [] },
    });
    const got: Record<string, string> = {};
    const want: Record<string, string> = {};
    for (const c of soapCases) {
      const config = { ...soap.config, ...c.config };
      got[`POST ${c.title}`] = outcome(
        await call('POST', '/api/v1/integrations', { ...soap, config }),
        c.field,
      );
      got[`PUT ${c.title}`] = outcome(
        await call('PUT', `/api/v1/integrations/${stored.id}`, { name: soap.name, config }),
        c.field,
      );
      got[`PATCH ${c.title}`] = outcome(
        await call('PATCH', `/api/v1/integrations/${stored.id}`, { config: c.config }),
        c.field,
      );
      for (const m of ['POST', 'PUT', 'PATCH']) want[`${m} ${c.title}`] = expected(c.field);
    }
    expect(got).toEqual(want);
  });

  it('answers 400 naming the field, not 500, for free-form values nested thousands deep', async () => {
    await setup();
    const created = await call('POST', '/api/v1/integrations', {
      ...http,
      config: { ...http.config, body: '{"custom": {{contact.custom | json}}}' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = (created.json() as { id: string }).id;
    // Written as text: JSON.stringify itself overflows on such a value. Deep copies, merge patches
    // and token rendering walked it recursively: RangeError, 500.
    const deep = `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`;
    const send = (method: 'POST' | 'PUT' | 'PATCH', url: string, payload: string) =>
      fresh.t.app.inject({
        method,
        url,
        headers: { ...fresh.alice.headers, 'content-type': 'application/json' },
        payload,
      });
    const cases: [string, 'POST' | 'PUT' | 'PATCH', string, string, string][] = [
      [
        'create config',
        'POST',
        '/api/v1/integrations',
        `{"name":"x","type":"http","config":${deep}}`,
        'body.config',
      ],
      [
        'create options',
        'POST',
        '/api/v1/integrations',
        `{"name":"x","type":"http","config":{"url":"https://a.example/"},"options":${deep}}`,
        'body.options',
      ],
      [
        'replace config',
        'PUT',
        `/api/v1/integrations/${id}`,
        `{"name":"x","config":${deep}}`,
        'body.config',
      ],
      ['patch config', 'PATCH', `/api/v1/integrations/${id}`, `{"config":${deep}}`, 'body.config'],
      [
        'test sample',
        'POST',
        `/api/v1/integrations/${id}/test`,
        `{"sample":{"contact":{"custom":${deep}}}}`,
        'body.sample',
      ],
      [
        'invoke contact',
        'POST',
        `/api/v1/integrations/${id}/invoke`,
        `{"contact":{"custom":${deep}}}`,
        'body.contact',
      ],
    ];
    const got: Record<string, string> = {};
    const want: Record<string, string> = {};
    for (const [title, method, url, payload, field] of cases) {
      got[title] = outcome(await send(method, url, payload), field);
      want[title] = expected(field);
    }
    expect(got).toEqual(want);
    // 64 levels are taken: a sample's contact.custom 60 deep renders.
    const fine = `{"sample":{"contact":{"custom":${'{"a":'.repeat(60)}1${'}'.repeat(60)}}}}`;
    expect((await send('POST', `/api/v1/integrations/${id}/test`, fine)).statusCode).toBe(200);
  });

  it('renders a stored signing secret that cannot sign as an error naming it, not a 500', async () => {
    await setup();
    // Stored directly, as one saved before the save-time check could be.
    const stored = await new IntegrationStore(fresh.t.store.store).create(fresh.alice.id, {
      name: 'Signed',
      description: '',
      type: 'http',
      enabled: true,
      config: {
        url: 'https://crm.example/calls',
        method: 'POST',
        headers: '',
        body: '',
        responseEncoding: 'json',
        maxRedirects: 0,
      },
      options: {
        timeoutMs: 1000,
        retry: { maxAttempts: 5 },
        responseVariables: [],
        signing: { secret: fresh.t.services.secretBox.seal('whsec_c2hvcnQ') },
      },
    });
    const res = await fresh.t.app.inject({
      method: 'POST',
      url: `/api/v1/integrations/${stored.id}/test`,
      headers: fresh.alice.headers,
      payload: {},
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      error: expect.stringContaining('options.signing.secret'),
    });
    // A previous secret that cannot sign is not judged once its grace period is over.
    const box = fresh.t.services.secretBox;
    const expired = await new IntegrationStore(fresh.t.store.store).update(stored, {
      ...stored,
      options: {
        ...stored.options,
        signing: {
          secret: box.seal(http.options.signing.secret),
          previousSecret: box.seal('whsec_c2hvcnQ'),
          previousExpiresAt: '2020-01-01T00:00:00Z',
        },
      },
    });
    expect(expired?.version).toBe(2);
    const signed = await fresh.t.app.inject({
      method: 'POST',
      url: `/api/v1/integrations/${stored.id}/test`,
      headers: fresh.alice.headers,
      payload: {},
    });
    expect(signed.json().error).toBeUndefined();
    expect(signed.json().request.headers).toContainEqual(['webhook-id', expect.any(String)]);
  });
});
