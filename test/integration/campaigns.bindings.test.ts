/**
 * `campaigns/:id/bindings`: which integrations run on which call events. A binding reads as SPEC
 * §1 has it, `{campaignId, integrationId, on, statuses?}`, and a GET's answer can be PUT back.
 */
import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { useAppPerTest } from '../helpers/app.js';
import { CampaignStore } from '../../src/store/campaign-store.js';

describe.each(DIALECTS)('campaign bindings on %s', (backend) => {
  const app = useAppPerTest(backend, ['integration', 'campaign']);
  const call = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) =>
    app.t.app.inject({
      method,
      url,
      headers: app.alice.headers,
      ...(payload === undefined ? {} : { payload }),
    });
  const setup = async () => {
    await app.setup();
    const integration = await call('POST', '/api/v1/integrations', {
      name: 'CRM',
      type: 'http',
      config: { url: 'https://crm.example/calls', method: 'POST' },
    });
    expect(integration.statusCode, integration.body).toBe(201);
    const campaign = await call('POST', '/api/v1/campaigns', {
      id: 'spring',
      name: 'Spring',
      type: 'voice',
    });
    expect(campaign.statusCode, campaign.body).toBe(201);
    return { integrationId: integration.json<{ id: string }>().id };
  };

  it('answers each binding with its campaignId, and takes a GET answer back as it is', async () => {
    const { integrationId } = await setup();
    const put = await call('PUT', '/api/v1/campaigns/spring/bindings', {
      bindings: [{ integrationId, on: ['call.ended'], statuses: ['answered'] }],
    });
    expect(put.statusCode, put.body).toBe(200);
    const expected = {
      bindings: [
        { campaignId: 'spring', integrationId, on: ['call.ended'], statuses: ['answered'] },
      ],
    };
    expect(put.json()).toEqual(expected);
    const read = await call('GET', '/api/v1/campaigns/spring/bindings');
    expect(read.json()).toEqual(expected);
    const again = await call('PUT', '/api/v1/campaigns/spring/bindings', read.json());
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toEqual(expected);
  });

  it('refuses a binding of another campaign or an unknown integration, naming each, and keeps the old ones', async () => {
    const { integrationId } = await setup();
    await call('PUT', '/api/v1/campaigns/spring/bindings', {
      bindings: [{ integrationId, on: ['call.ended'] }],
    });
    const bad = await call('PUT', '/api/v1/campaigns/spring/bindings', {
      bindings: [
        { campaignId: 'autumn', integrationId, on: ['call.started'] },
        { integrationId: 'nope', on: ['call.ended'] },
      ],
    });
    expect(bad.statusCode, bad.body).toBe(400);
    expect(bad.json().error.details).toEqual([
      {
        field: 'body.bindings.0.campaignId',
        message: 'is autumn, but these are the bindings of campaign spring',
      },
      { field: 'body.bindings.1.integrationId', message: 'no integration nope' },
    ]);
    expect((await call('GET', '/api/v1/campaigns/spring/bindings')).json()).toEqual({
      bindings: [{ campaignId: 'spring', integrationId, on: ['call.ended'] }],
    });
  });
  it("keeps another user's campaign and its bindings when a non-admin's DELETE of it is refused", async () => {
    const { integrationId } = await setup();
    await call('PUT', '/api/v1/campaigns/spring/bindings', {
      bindings: [{ integrationId, on: ['call.ended'] }],
    });
    const mallory = await app.t.user({ grants: ['campaign'] });
    const del = await app.t.app.inject({
      method: 'DELETE',
      url: '/api/v1/campaigns/spring',
      headers: mallory.headers,
    });
    expect(del.statusCode, del.body).toBe(404);
    expect((await call('GET', '/api/v1/campaigns/spring/bindings')).json()).toEqual({
      bindings: [{ campaignId: 'spring', integrationId, on: ['call.ended'] }],
    });
  });

  it('deletes an own campaign together with its bindings', async () => {
    const { integrationId } = await setup();
    await call('PUT', '/api/v1/campaigns/spring/bindings', {
      bindings: [{ integrationId, on: ['call.ended'] }],
    });
    const del = await app.t.app.inject({
      method: 'DELETE',
      url: '/api/v1/campaigns/spring',
      headers: app.alice.headers,
    });
    expect(del.statusCode, del.body).toBe(204);
    expect(await new CampaignStore(app.t.store.store.db).bindings('spring')).toEqual([]);
  });
});
