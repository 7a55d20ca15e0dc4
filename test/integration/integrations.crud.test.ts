import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useAppPerTest } from '../helpers/app.js';
import { DIALECTS } from '../helpers/store.js';

const crmPush = {
  name: 'CRM push',
  description: 'end of call to the CRM',
  type: 'http',
  config: {
    url: 'https://crm.example/calls?phone={{contact.phone}}',
    method: 'POST',
    headers: 'Content-Type: application/json\nAuthorization: Bearer s3cr3t-token-value',
    body: '{"status": "{{call.status}}", "name": "{{contact.firstName}}"}',
    responseEncoding: 'json',
  },
  options: {
    timeoutMs: 5000,
    retry: { maxAttempts: 8 },
    signing: { secret: `whsec_${Buffer.alloc(32, 7).toString('base64')}` },
  },
};

describe.each(DIALECTS)('integrations on %s', (backend) => {
  const fresh = useAppPerTest(backend, ['integration']);
  const { setup } = fresh;
  const call = (
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    payload?: object,
    who = fresh.alice,
  ) =>
    fresh.t.app.inject({
      method,
      url,
      headers: who.headers,
      ...(payload === undefined ? {} : { payload }),
    });

  it('creates an integration with defaults, masks its secrets in every read', async () => {
    await setup();
    const res = await call('POST', '/api/v1/integrations', crmPush);
    expect(res.statusCode, res.body).toBe(201);
    const created = res.json();
    expect(created).toMatchObject({
      name: 'CRM push',
      type: 'http',
      version: 1,
      enabled: true,
      ownerId: fresh.alice.id,
      config: {
        method: 'POST',
        maxRedirects: 0,
        headers: 'Content-Type: application/json\nAuthorization: ••••',
      },
      options: {
        timeoutMs: 5000,
        retry: { maxAttempts: 8 },
        responseVariables: [],
        signing: { secret: '••••' },
      },
    });
    const read = await call('GET', `/api/v1/integrations/${created.id}`);
    const list = await call('GET', '/api/v1/integrations');
    for (const body of [res.body, read.body, list.body]) {
      expect(body).not.toContain('s3cr3t-token-value');
      expect(body).not.toContain('whsec_');
    }
    expect(list.json().items).toHaveLength(1);
  });

  it('keeps a secret when an edit sends it back masked, and makes each update a new version', async () => {
    await setup();
    const created = (await call('POST', '/api/v1/integrations', crmPush)).json();
    const patched = await call('PATCH', `/api/v1/integrations/${created.id}`, {
      config: { url: 'https://crm.example/v2/calls' },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({
      version: 2,
      config: { url: 'https://crm.example/v2/calls' },
    });
    const stored = await fresh.t.store.store.db
      .selectFrom('integration_versions')
      .select(['version', 'config', 'options'])
      .where('integration_id', '=', created.id)
      .orderBy('version')
      .execute();
    expect(stored.map((v) => v.version)).toEqual([1, 2]);
    // The sealed Authorization value was carried over (not the mask, not re-typed).
    const v2 = JSON.parse(stored[1]!.config) as { headers: string };
    expect(v2.headers).toMatch(/^Content-Type: application\/json\nAuthorization: enc:v1:/);
    expect(JSON.parse(stored[1]!.options).signing.secret).toMatch(/^enc:v1:/);

    const replaced = await call('PUT', `/api/v1/integrations/${created.id}`, {
      name: 'CRM push',
      config: { ...crmPush.config, headers: 'Authorization: ••••\nX-Tenant: ••••' },
    });
    expect(replaced.statusCode).toBe(400);
    expect(replaced.json().error.details).toEqual([
      {
        field: 'config.headers',
        line: 2,
        message: '"••••" keeps a stored secret, but there is none here: type the value',
      },
    ]);
  });

  it('makes no new version for a PATCH that names nothing, and holds its If-Match', async () => {
    await setup();
    const created = await call('POST', '/api/v1/integrations', crmPush);
    const { id } = created.json<{ id: string }>();
    const patch = (tag: string) =>
      fresh.t.app.inject({
        method: 'PATCH',
        url: `/api/v1/integrations/${id}`,
        headers: { ...fresh.alice.headers, 'if-match': tag },
        payload: {},
      });
    const empty = await patch(String(created.headers.etag));
    expect(empty.statusCode, empty.body).toBe(200);
    expect(empty.json()).toMatchObject({ version: 1 });
    expect(empty.headers.etag).toBe(created.headers.etag);
    // The editor holding version 1's tag saves a real edit after it.
    const renamed = await fresh.t.app.inject({
      method: 'PATCH',
      url: `/api/v1/integrations/${id}`,
      headers: { ...fresh.alice.headers, 'if-match': String(created.headers.etag) },
      payload: { name: 'CRM push v2' },
    });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect(renamed.json()).toMatchObject({ name: 'CRM push v2', version: 2 });
    // An empty PATCH with a tag that no longer holds is refused, as any edit's would be.
    const stale = await patch(String(created.headers.etag));
    expect(stale.statusCode, stale.body).toBe(409);
    expect(stale.json().error.code).toBe('CONFLICT');
  });

  it('reads a PATCH of config and options as a JSON Merge Patch: nested keys kept, null removes', async () => {
    await setup();
    const created = (
      await call('POST', '/api/v1/integrations', {
        ...crmPush,
        options: {
          ...crmPush.options,
          retry: { maxAttempts: 8, scheduleSeconds: [5, 60, 600] },
          maxConcurrency: 4,
        },
      })
    ).json();
    const url = `/api/v1/integrations/${created.id}`;
    // Sent as application/merge-patch+json, the media type of RFC 7396.
    const patched = await fresh.t.app.inject({
      method: 'PATCH',
      url,
      headers: { ...fresh.alice.headers, 'content-type': 'application/merge-patch+json' },
      payload: JSON.stringify({
        options: { retry: { maxAttempts: 3 }, maxConcurrency: null, signing: { secret: '••••' } },
      }),
    });
    expect(patched.statusCode, patched.body).toBe(200);
    const options = patched.json().options;
    // The schedule is kept beside the new maxAttempts, the limit removed, the secret kept.
    expect(options.retry).toEqual({ maxAttempts: 3, scheduleSeconds: [5, 60, 600] });
    expect(options).not.toHaveProperty('maxConcurrency');
    expect(options.signing).toEqual({ secret: '••••' });
    const stored = await fresh.t.store.store.db
      .selectFrom('integration_versions')
      .select('options')
      .where('integration_id', '=', created.id)
      .where('version', '=', 2)
      .executeTakeFirstOrThrow();
    expect(JSON.parse(stored.options).signing.secret).toMatch(/^enc:v1:/);

    // A required key removed is named, and nothing is saved.
    const noUrl = await call('PATCH', url, { config: { url: null } });
    expect(noUrl.statusCode, noUrl.body).toBe(400);
    expect(noUrl.json().error.details).toEqual([expect.objectContaining({ field: 'config.url' })]);
    expect((await call('GET', url)).json()).toMatchObject({ version: 2 });
  });

  it('takes an edit naming the stored type, as created; another type is refused by name', async () => {
    await setup();
    const created = (await call('POST', '/api/v1/integrations', crmPush)).json();
    // The object as it was created, PUT back with a new URL.
    const put = await call('PUT', `/api/v1/integrations/${created.id}`, {
      ...crmPush,
      config: { ...crmPush.config, url: 'https://crm.example/v2/calls' },
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toMatchObject({ type: 'http', version: 2 });
    const patched = await call('PATCH', `/api/v1/integrations/${created.id}`, {
      type: 'http',
      name: 'CRM push v2',
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ name: 'CRM push v2', version: 3 });
    for (const method of ['PUT', 'PATCH'] as const) {
      const other = await call(method, `/api/v1/integrations/${created.id}`, {
        ...crmPush,
        type: 'soap',
      });
      expect(other.statusCode, other.body).toBe(400);
      expect(other.json().error.details).toEqual([
        {
          field: 'body.type',
          message: 'is http and cannot change: create a new soap integration instead',
        },
      ]);
    }
    expect((await call('GET', `/api/v1/integrations/${created.id}`)).json().version).toBe(3);
  });

  it('stores no secret as plain text in the database', async () => {
    await setup();
    await call('POST', '/api/v1/integrations', crmPush);
    if (backend === 'sqlite') {
      await fresh.t.store.store.close();
      const files = fs
        .readdirSync(fresh.t.store.location)
        .map((f) => path.join(fresh.t.store.location, f));
      const bytes = Buffer.concat(
        files.filter((f) => fs.statSync(f).isFile()).map((f) => fs.readFileSync(f)),
      );
      expect(bytes.includes('s3cr3t-token-value')).toBe(false);
      expect(bytes.includes(crmPush.options.signing.secret)).toBe(false);
      expect(bytes.includes('crm.example')).toBe(true);
    } else {
      const rows = await fresh.t.store.store.db
        .selectFrom('integration_versions')
        .selectAll()
        .execute();
      expect(JSON.stringify(rows)).not.toContain('s3cr3t-token-value');
    }
  });

  it('names every wrong field at once', async () => {
    await setup();
    const res = await call('POST', '/api/v1/integrations', {
      name: 'bad',
      type: 'http',
      config: { method: 'FETCH', headers: 'no colon here', responseEncoding: 'yaml', extra: 1 },
      options: {
        timeoutMs: 5,
        retry: { maxAttempts: 0 },
        successStatuses: [700],
        signing: { secret: 'plain' },
      },
    });
    expect(res.statusCode).toBe(400);
    const fields = res.json().error.details.map((d: { field: string }) => d.field);
    for (const field of [
      'config.url',
      'config.method',
      'config.responseEncoding',
      'config.extra',
      'options.timeoutMs',
      'options.retry.maxAttempts',
      'options.successStatuses.0',
    ]) {
      expect(fields).toContain(field);
    }
    const noType = await call('POST', '/api/v1/integrations', { name: 'x', config: {} });
    expect(noType.statusCode).toBe(400);
    expect(noType.json().error.details).toContainEqual({
      field: 'body.type',
      message: expect.any(String),
    });
  });

  it('refuses a response variable path no answer can match, naming the field and column', async () => {
    await setup();
    const withPaths = (paths: string[], responseEncoding = 'json') => ({
      ...crmPush,
      config: { ...crmPush.config, responseEncoding },
      options: {
        ...crmPush.options,
        responseVariables: paths.map((path, i) => ({ name: `v${i}`, path })),
      },
    });
    const res = await call(
      'POST',
      '/api/v1/integrations',
      withPaths(['customer.balance', '$.customer.balance', '/r/account', 'items[x].id', 'a.*.b']),
    );
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error.details).toEqual([
      {
        field: 'options.responseVariables.1.path',
        line: 1,
        column: 1,
        message:
          '"$.customer.balance": starts at the top of the document without "$": write "customer.balance"',
      },
      {
        field: 'options.responseVariables.2.path',
        line: 1,
        column: 1,
        message:
          '"/r/account": names are separated by dots, from the top of the document: write "r.account"',
      },
      {
        field: 'options.responseVariables.3.path',
        line: 1,
        column: 6,
        message: '"items[x].id": a bracket holds a list index from 0, e.g. items[0] (or items.0)',
      },
      {
        field: 'options.responseVariables.4.path',
        line: 1,
        column: 3,
        message: '"a.*.b": a path reads one value: name a list index (items.0.id), not *',
      },
    ]);
    // Index forms, SOAP's `$value`, attributes and text are paths; a text answer reads no path.
    const fine = withPaths(['items[0].id', 'a[0][1]', 'r.$value', 'r.@id', 'r.#text', '']);
    expect((await call('POST', '/api/v1/integrations', fine)).statusCode).toBe(201);
    const text = withPaths(['$.whatever'], 'text');
    expect((await call('POST', '/api/v1/integrations', text)).statusCode).toBe(201);
  });

  it("answers 404 for another user's integration; admins see all", async () => {
    await setup();
    const created = (await call('POST', '/api/v1/integrations', crmPush)).json();
    const bob = await fresh.t.user({ grants: ['integration'] });
    expect(
      (await call('GET', `/api/v1/integrations/${created.id}`, undefined, bob)).statusCode,
    ).toBe(404);
    expect(
      (await call('PATCH', `/api/v1/integrations/${created.id}`, { name: 'x' }, bob)).statusCode,
    ).toBe(404);
    expect(
      (await call('DELETE', `/api/v1/integrations/${created.id}`, undefined, bob)).statusCode,
    ).toBe(404);
    expect((await call('GET', '/api/v1/integrations', undefined, bob)).json().items).toEqual([]);
    const admin = await fresh.t.user({ admin: true });
    expect(
      (await call('GET', `/api/v1/integrations/${created.id}`, undefined, admin)).statusCode,
    ).toBe(200);
  });

  it('deletes: gone from reads, bindings removed, pending deliveries cancelled', async () => {
    await setup();
    const created = (await call('POST', '/api/v1/integrations', crmPush)).json();
    const campaignUser = fresh.alice;
    await fresh.t.accounts.grantUser(campaignUser.id, 'campaign');
    const campaign = (
      await call('POST', '/api/v1/campaigns', { name: 'Spring', type: 'voice' })
    ).json();
    const bound = await call('PUT', `/api/v1/campaigns/${campaign.id}/bindings`, {
      bindings: [{ integrationId: created.id, on: ['call.ended'] }],
    });
    expect(bound.statusCode).toBe(200);
    expect((await call('DELETE', `/api/v1/integrations/${created.id}`)).statusCode).toBe(204);
    expect((await call('GET', `/api/v1/integrations/${created.id}`)).statusCode).toBe(404);
    expect((await call('GET', `/api/v1/campaigns/${campaign.id}/bindings`)).json()).toEqual({
      bindings: [],
    });
    expect((await call('DELETE', `/api/v1/integrations/${created.id}`)).statusCode).toBe(404);
  });

  it('pages through the list with a cursor', async () => {
    await setup();
    for (let i = 0; i < 5; i += 1)
      await call('POST', '/api/v1/integrations', { ...crmPush, name: `n${i}` });
    const first = (await call('GET', '/api/v1/integrations?limit=2')).json();
    expect(first.items.map((i: { name: string }) => i.name)).toEqual(['n0', 'n1']);
    const second = (
      await call('GET', `/api/v1/integrations?limit=2&cursor=${first.nextCursor}`)
    ).json();
    expect(second.items.map((i: { name: string }) => i.name)).toEqual(['n2', 'n3']);
    const last = (
      await call('GET', `/api/v1/integrations?limit=2&cursor=${second.nextCursor}`)
    ).json();
    expect(last).toMatchObject({ nextCursor: null });
    expect(last.items).toHaveLength(1);
  });
});
