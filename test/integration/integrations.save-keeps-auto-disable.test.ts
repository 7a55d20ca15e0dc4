/**
 * An auto-disable (the queue turning an integration off after a long failing streak) is not undone
 * by a save that did not see it (docs/integrations.md, "Enabled" and "Concurrent edits"): a save
 * that leaves `enabled` out keeps the stored state and reason, and one sent with the `If-Match` of
 * an older read answers 409. Before, a form read before the auto-disable and saved after it
 * enabled the integration again, and the reason was lost.
 */
import { describe, expect, it } from 'vitest';
import { useAppPerTest } from '../helpers/app.js';
import { DIALECTS } from '../helpers/store.js';
import { disableIntegration } from '../../src/store/lane-store.js';
import { IntegrationStore } from '../../src/store/integration-store.js';

const REASON = 'disabled after 50 failed attempts over 24 h (last: HTTP 503)';

const form = {
  name: 'CRM push',
  description: '',
  enabled: true,
  config: { url: 'https://crm.example/calls', method: 'POST', body: '{}' },
  options: {},
};

describe.each(DIALECTS)('a save after an auto-disable on %s', (backend) => {
  const fresh = useAppPerTest(backend, ['integration']);
  const call = (
    method: 'GET' | 'POST' | 'PUT' | 'PATCH',
    url: string,
    payload?: object,
    headers: Record<string, string> = {},
  ) =>
    fresh.t.app.inject({
      method,
      url,
      headers: { ...fresh.alice.headers, ...headers },
      ...(payload === undefined ? {} : { payload }),
    });
  /** Creates the integration and reads it as a form would: its answer and its ETag. */
  const createAndRead = async () => {
    await fresh.setup();
    const created = await call('POST', '/api/v1/integrations', { ...form, type: 'http' });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json<{ id: string }>().id;
    const read = await call('GET', `/api/v1/integrations/${id}`);
    return { id, etag: read.headers.etag };
  };
  const autoDisable = (id: string) =>
    disableIntegration(fresh.t.store.store.db, id, REASON, Date.now());
  const state = async (id: string) => {
    const { enabled, disabledReason } = (await call('GET', `/api/v1/integrations/${id}`)).json<{
      enabled: boolean;
      disabledReason: string | null;
    }>();
    return { enabled, disabledReason };
  };

  it('answers 409 to a save sent with the ETag of a read from before the auto-disable', async () => {
    const { id, etag } = await createAndRead();
    expect(etag).toMatch(/^"[^"]+"$/);
    await autoDisable(id);
    for (const method of ['PUT', 'PATCH'] as const) {
      const saved = await call(method, `/api/v1/integrations/${id}`, form, {
        'if-match': String(etag),
      });
      expect(saved.statusCode, `${method}: ${saved.body}`).toBe(409);
      expect(saved.json().error.code).toBe('CONFLICT');
    }
    expect(await state(id)).toEqual({ enabled: false, disabledReason: REASON });

    // Read again, the owner sees why and may enable it knowingly.
    const again = await call('GET', `/api/v1/integrations/${id}`);
    expect(again.headers.etag).not.toBe(etag);
    const enabled = await call(
      'PATCH',
      `/api/v1/integrations/${id}`,
      { enabled: true },
      { 'if-match': String(again.headers.etag) },
    );
    expect(enabled.statusCode, enabled.body).toBe(200);
    expect(enabled.headers.etag).not.toBe(again.headers.etag);
    expect(await state(id)).toEqual({ enabled: true, disabledReason: null });
  });

  it('keeps the auto-disable and its reason when the save leaves `enabled` out', async () => {
    const { id } = await createAndRead();
    await autoDisable(id);
    const put = await call('PUT', `/api/v1/integrations/${id}`, {
      ...form,
      enabled: undefined,
      name: 'CRM push (renamed)',
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(await state(id)).toEqual({ enabled: false, disabledReason: REASON });
    const patch = await call('PATCH', `/api/v1/integrations/${id}`, { description: 'edited' });
    expect(patch.statusCode, patch.body).toBe(200);
    expect(await state(id)).toEqual({ enabled: false, disabledReason: REASON });
  });

  it('an edit read before the auto-disable and stored after it keeps what is stored', async () => {
    // The race inside one request: the route read the integration, the queue disabled it, then
    // the edit was written.
    const { id } = await createAndRead();
    const integrations = new IntegrationStore(fresh.t.store.store);
    const before = (await integrations.find(id, undefined))!;
    await autoDisable(id);
    await integrations.update(before, { ...before, enabled: undefined, description: 'edited' });
    expect(await state(id)).toEqual({ enabled: false, disabledReason: REASON });
    // Disabled by hand on top: the reason Callhook gave stays.
    const edited = (await integrations.find(id, undefined))!;
    await integrations.update(edited, { ...edited, enabled: false });
    expect(await state(id)).toEqual({ enabled: false, disabledReason: REASON });
  });
});
