/**
 * Every route that exists, table-driven: no credentials → 401, no permission → 403, another
 * owner's object → 404, the owner → 2xx. A route missing from CASES fails the first test, and a
 * route registered without `config.access` cannot even be built (last test).
 */
import { ReplayJobStore } from '../../src/store/replay-job-store.js';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { installAuthorization } from '../../src/auth/authorize.js';
import { PERMISSIONS } from '../../src/domain/permissions.js';
import { CampaignStore } from '../../src/store/campaign-store.js';
import { CampaignRunStore } from '../../src/store/campaign-run-store.js';
import { ContactStore } from '../../src/store/contact-store.js';
import { createHttpIntegration } from '../helpers/fixtures.js';
import { enqueueDeliveries } from '../../src/store/delivery-store.js';
import { recordAnswers, type RecordedAnswer } from '../helpers/answers.js';

interface Ctx {
  t: TestApp;
  owner: TestUser;
  other: TestUser;
  target: TestUser;
  newRoleId(): Promise<string>;
  newKeyId(of: TestUser): Promise<string>;
  newCampaignId(of: TestUser): Promise<string>;
  newIntegrationId(of: TestUser): Promise<string>;
  /** A delivery of `of`'s, in `status`. */
  newDeliveryId(of: TestUser, status?: 'pending' | 'failed'): Promise<string>;
  /** A replay job of one of `of`'s integrations, as its path under /api/v1/integrations. */
  newReplayJobPath(of: TestUser): Promise<string>;
  /** A contact list of `of`'s holding one contact. */
  newListId(of: TestUser): Promise<string>;
  /** An integration campaign of `of`'s over a list of one contact, in `state`. */
  newRunId(of: TestUser, state?: 'idle' | 'running' | 'paused'): Promise<string>;
}

type Req = { url: string; payload?: unknown };
interface Case {
  /** The owner's request, expected to answer `status`. */
  ok: (ctx: Ctx) => Promise<Req> | Req;
  status: number;
  /** The same request aimed at another user's object, expected to answer 404. */
  otherOwner?: (ctx: Ctx) => Promise<Req> | Req;
  /** Only a password sign-in may: the owner's API key gets 403 SESSION_REQUIRED. */
  signedIn?: true;
}

const CASES: Record<string, Case> = {
  'GET /healthz': { ok: () => ({ url: '/healthz' }), status: 200 },
  'GET /readyz': { ok: () => ({ url: '/readyz' }), status: 200 },
  'GET /metrics': { ok: () => ({ url: '/metrics' }), status: 200 },
  'GET /api/openapi.json': { ok: () => ({ url: '/api/openapi.json' }), status: 200 },
  'GET /': { ok: () => ({ url: '/' }), status: 200 },
  'GET /console/*': { ok: () => ({ url: '/console/app.js' }), status: 200 },
  'POST /api/v1/auth/login': {
    ok: ({ owner }) => ({
      url: '/api/v1/auth/login',
      payload: { email: owner.email, password: owner.password },
    }),
    status: 200,
  },
  'POST /api/v1/auth/logout': { ok: () => ({ url: '/api/v1/auth/logout' }), status: 204 },
  'GET /api/v1/me': { ok: () => ({ url: '/api/v1/me' }), status: 200 },
  'GET /api/v1/users': { ok: () => ({ url: '/api/v1/users' }), status: 200 },
  'POST /api/v1/users': {
    ok: () => ({
      url: '/api/v1/users',
      payload: {
        email: `new-${Math.random()}@example.com`,
        password: 'long-enough-pw',
        name: 'New',
      },
    }),
    status: 201,
  },
  'GET /api/v1/users/:id': {
    ok: ({ target }) => ({ url: `/api/v1/users/${target.id}` }),
    status: 200,
  },
  'PATCH /api/v1/users/:id': {
    ok: ({ target }) => ({ url: `/api/v1/users/${target.id}`, payload: { name: 'Renamed' } }),
    status: 200,
  },
  'PUT /api/v1/users/:id/permissions/:permission': {
    ok: ({ target }) => ({ url: `/api/v1/users/${target.id}/permissions/contact` }),
    status: 204,
  },
  'DELETE /api/v1/users/:id/permissions/:permission': {
    ok: ({ target }) => ({ url: `/api/v1/users/${target.id}/permissions/contact` }),
    status: 204,
  },
  'PUT /api/v1/users/:id/roles/:roleId': {
    ok: async (c) => ({ url: `/api/v1/users/${c.target.id}/roles/${await c.newRoleId()}` }),
    status: 204,
  },
  'DELETE /api/v1/users/:id/roles/:roleId': {
    ok: async (c) => ({ url: `/api/v1/users/${c.target.id}/roles/${await c.newRoleId()}` }),
    status: 204,
  },
  'GET /api/v1/roles': { ok: () => ({ url: '/api/v1/roles' }), status: 200 },
  'POST /api/v1/roles': {
    ok: () => ({
      url: '/api/v1/roles',
      payload: { name: `role-${Math.random()}`, permissions: ['integration'] },
    }),
    status: 201,
  },
  'GET /api/v1/roles/:id': {
    ok: async (c) => ({ url: `/api/v1/roles/${await c.newRoleId()}` }),
    status: 200,
  },
  'PATCH /api/v1/roles/:id': {
    ok: async (c) => ({
      url: `/api/v1/roles/${await c.newRoleId()}`,
      payload: { description: 'x' },
    }),
    status: 200,
  },
  'DELETE /api/v1/roles/:id': {
    ok: async (c) => ({ url: `/api/v1/roles/${await c.newRoleId()}` }),
    status: 204,
  },
  'PUT /api/v1/roles/:id/permissions/:permission': {
    ok: async (c) => ({ url: `/api/v1/roles/${await c.newRoleId()}/permissions/campaign` }),
    status: 204,
  },
  'DELETE /api/v1/roles/:id/permissions/:permission': {
    ok: async (c) => ({ url: `/api/v1/roles/${await c.newRoleId()}/permissions/campaign` }),
    status: 204,
  },
  'GET /api/v1/api-keys': { ok: () => ({ url: '/api/v1/api-keys' }), status: 200 },
  'POST /api/v1/api-keys': {
    ok: () => ({ url: '/api/v1/api-keys', payload: { name: 'k' } }),
    status: 201,
    signedIn: true,
  },
  'DELETE /api/v1/api-keys/:id': {
    ok: async (c) => ({ url: `/api/v1/api-keys/${await c.newKeyId(c.owner)}` }),
    status: 204,
    // The owner here holds user_admin, which manages other users' keys: another's key reads as
    // not found only to those without it (api-keys.managed-by-admins.test.ts).
  },
  'GET /api/v1/integrations': { ok: () => ({ url: '/api/v1/integrations' }), status: 200 },
  'POST /api/v1/integrations': {
    ok: () => ({
      url: '/api/v1/integrations',
      payload: { name: 'CRM', type: 'http', config: { url: 'https://crm.example/x' } },
    }),
    status: 201,
  },
  'GET /api/v1/integrations/:id': {
    ok: async (c) => ({ url: `/api/v1/integrations/${await c.newIntegrationId(c.owner)}` }),
    status: 200,
    otherOwner: async (c) => ({ url: `/api/v1/integrations/${await c.newIntegrationId(c.other)}` }),
  },
  'PUT /api/v1/integrations/:id': {
    ok: async (c) => ({
      url: `/api/v1/integrations/${await c.newIntegrationId(c.owner)}`,
      payload: { name: 'CRM', config: { url: 'https://crm.example/y' } },
    }),
    status: 200,
    otherOwner: async (c) => ({
      url: `/api/v1/integrations/${await c.newIntegrationId(c.other)}`,
      payload: { name: 'CRM', config: { url: 'https://crm.example/y' } },
    }),
  },
  'PATCH /api/v1/integrations/:id': {
    ok: async (c) => ({
      url: `/api/v1/integrations/${await c.newIntegrationId(c.owner)}`,
      payload: { name: 'x' },
    }),
    status: 200,
    otherOwner: async (c) => ({
      url: `/api/v1/integrations/${await c.newIntegrationId(c.other)}`,
      payload: { name: 'x' },
    }),
  },
  'DELETE /api/v1/integrations/:id': {
    ok: async (c) => ({ url: `/api/v1/integrations/${await c.newIntegrationId(c.owner)}` }),
    status: 204,
    otherOwner: async (c) => ({ url: `/api/v1/integrations/${await c.newIntegrationId(c.other)}` }),
  },
  'POST /api/v1/events': {
    ok: async (c) => ({
      url: '/api/v1/events',
      payload: {
        id: `ev-${Math.random()}`,
        type: 'call.ended',
        occurredAt: '2026-11-27T10:00:00Z',
        campaignId: await c.newCampaignId(c.owner),
        call: { id: 'c-1', status: 'answered' },
        contact: { phone: '+15551234567' },
      },
    }),
    status: 202,
  },
  'GET /api/v1/deliveries': { ok: () => ({ url: '/api/v1/deliveries' }), status: 200 },
  'GET /api/v1/activity': { ok: () => ({ url: '/api/v1/activity?minutes=5' }), status: 200 },
  'GET /api/v1/deliveries/:id': {
    ok: async (c) => ({ url: `/api/v1/deliveries/${await c.newDeliveryId(c.owner)}` }),
    status: 200,
    otherOwner: async (c) => ({ url: `/api/v1/deliveries/${await c.newDeliveryId(c.other)}` }),
  },
  'POST /api/v1/deliveries/:id/retry': {
    ok: async (c) => ({
      url: `/api/v1/deliveries/${await c.newDeliveryId(c.owner, 'failed')}/retry`,
      payload: {},
    }),
    status: 202,
    otherOwner: async (c) => ({
      url: `/api/v1/deliveries/${await c.newDeliveryId(c.other, 'failed')}/retry`,
      payload: {},
    }),
  },
  'POST /api/v1/deliveries/:id/cancel': {
    ok: async (c) => ({
      url: `/api/v1/deliveries/${await c.newDeliveryId(c.owner)}/cancel`,
      payload: {},
    }),
    status: 200,
    otherOwner: async (c) => ({
      url: `/api/v1/deliveries/${await c.newDeliveryId(c.other)}/cancel`,
      payload: {},
    }),
  },
  'POST /api/v1/integrations/:id/invoke': {
    // crm.example does not resolve here: the owner gets 200 with outcome `error`.
    ok: async (c) => ({
      url: `/api/v1/integrations/${await c.newIntegrationId(c.owner)}/invoke`,
      payload: { variables: { account: '42' }, timeoutMs: 500 },
    }),
    status: 200,
    otherOwner: async (c) => ({
      url: `/api/v1/integrations/${await c.newIntegrationId(c.other)}/invoke`,
      payload: { timeoutMs: 500 },
    }),
  },
  'POST /api/v1/integrations/:id/replay': {
    ok: async (c) => ({
      url: `/api/v1/integrations/${await c.newIntegrationId(c.owner)}/replay`,
      payload: { since: '2026-01-01T00:00:00Z' },
    }),
    status: 202,
    otherOwner: async (c) => ({
      url: `/api/v1/integrations/${await c.newIntegrationId(c.other)}/replay`,
      payload: { since: '2026-01-01T00:00:00Z' },
    }),
  },
  'GET /api/v1/integrations/:id/health': {
    ok: async (c) => ({ url: `/api/v1/integrations/${await c.newIntegrationId(c.owner)}/health` }),
    status: 200,
    otherOwner: async (c) => ({
      url: `/api/v1/integrations/${await c.newIntegrationId(c.other)}/health`,
    }),
  },
  'GET /api/v1/integrations/:id/replay': {
    ok: async (c) => ({ url: `/api/v1/integrations/${await c.newIntegrationId(c.owner)}/replay` }),
    status: 200,
    otherOwner: async (c) => ({
      url: `/api/v1/integrations/${await c.newIntegrationId(c.other)}/replay`,
    }),
  },
  'GET /api/v1/integrations/:id/replay/:jobId': {
    ok: async (c) => ({ url: `/api/v1/integrations/${await c.newReplayJobPath(c.owner)}` }),
    status: 200,
    otherOwner: async (c) => ({
      url: `/api/v1/integrations/${await c.newReplayJobPath(c.other)}`,
    }),
  },
  'POST /api/v1/integrations/:id/replay/:jobId/cancel': {
    ok: async (c) => ({ url: `/api/v1/integrations/${await c.newReplayJobPath(c.owner)}/cancel` }),
    status: 200,
    otherOwner: async (c) => ({
      url: `/api/v1/integrations/${await c.newReplayJobPath(c.other)}/cancel`,
    }),
  },
  'GET /api/v1/tokens': { ok: () => ({ url: '/api/v1/tokens' }), status: 200 },
  'POST /api/v1/soap/describe': {
    // No WSDL is reachable from here (the network policy refuses loopback): a clear 400.
    ok: () => ({
      url: '/api/v1/soap/describe',
      payload: { wsdlUrl: 'http://127.0.0.1:9/ws?wsdl' },
    }),
    status: 400,
  },
  'POST /api/v1/soap/refresh': {
    ok: () => ({ url: '/api/v1/soap/refresh', payload: { wsdlUrl: 'http://127.0.0.1:9/ws?wsdl' } }),
    status: 400,
  },
  'POST /api/v1/integrations/:id/test': {
    ok: async (c) => ({
      url: `/api/v1/integrations/${await c.newIntegrationId(c.owner)}/test`,
      payload: {},
    }),
    status: 200,
    otherOwner: async (c) => ({
      url: `/api/v1/integrations/${await c.newIntegrationId(c.other)}/test`,
      payload: {},
    }),
  },
  'GET /api/v1/campaigns': { ok: () => ({ url: '/api/v1/campaigns' }), status: 200 },
  'POST /api/v1/campaigns': {
    ok: () => ({ url: '/api/v1/campaigns', payload: { name: 'Spring', type: 'voice' } }),
    status: 201,
  },
  'GET /api/v1/campaigns/:id': {
    ok: async (c) => ({ url: `/api/v1/campaigns/${await c.newRunId(c.owner, 'running')}` }),
    status: 200,
    otherOwner: async (c) => ({ url: `/api/v1/campaigns/${await c.newCampaignId(c.other)}` }),
  },
  'PATCH /api/v1/campaigns/:id': {
    ok: async (c) => ({
      url: `/api/v1/campaigns/${await c.newCampaignId(c.owner)}`,
      payload: { name: 'x' },
    }),
    status: 200,
    otherOwner: async (c) => ({
      url: `/api/v1/campaigns/${await c.newCampaignId(c.other)}`,
      payload: { name: 'x' },
    }),
  },
  'DELETE /api/v1/campaigns/:id': {
    ok: async (c) => ({ url: `/api/v1/campaigns/${await c.newCampaignId(c.owner)}` }),
    status: 204,
    otherOwner: async (c) => ({ url: `/api/v1/campaigns/${await c.newCampaignId(c.other)}` }),
  },
  'POST /api/v1/campaigns/:id/start': {
    ok: async (c) => ({ url: `/api/v1/campaigns/${await c.newRunId(c.owner)}/start` }),
    status: 200,
    otherOwner: async (c) => ({ url: `/api/v1/campaigns/${await c.newRunId(c.other)}/start` }),
  },
  'POST /api/v1/campaigns/:id/pause': {
    ok: async (c) => ({ url: `/api/v1/campaigns/${await c.newRunId(c.owner, 'running')}/pause` }),
    status: 200,
    otherOwner: async (c) => ({
      url: `/api/v1/campaigns/${await c.newRunId(c.other, 'running')}/pause`,
    }),
  },
  'POST /api/v1/campaigns/:id/resume': {
    ok: async (c) => ({ url: `/api/v1/campaigns/${await c.newRunId(c.owner, 'paused')}/resume` }),
    status: 200,
    otherOwner: async (c) => ({
      url: `/api/v1/campaigns/${await c.newRunId(c.other, 'paused')}/resume`,
    }),
  },
  'POST /api/v1/campaigns/:id/stop': {
    ok: async (c) => ({ url: `/api/v1/campaigns/${await c.newRunId(c.owner, 'running')}/stop` }),
    status: 200,
    otherOwner: async (c) => ({
      url: `/api/v1/campaigns/${await c.newRunId(c.other, 'running')}/stop`,
    }),
  },
  'GET /api/v1/campaigns/:id/results': {
    ok: async (c) => ({ url: `/api/v1/campaigns/${await c.newRunId(c.owner, 'running')}/results` }),
    status: 200,
    otherOwner: async (c) => ({
      url: `/api/v1/campaigns/${await c.newRunId(c.other, 'running')}/results`,
    }),
  },
  'GET /api/v1/contact-lists': { ok: () => ({ url: '/api/v1/contact-lists' }), status: 200 },
  'POST /api/v1/contact-lists': {
    ok: () => ({ url: '/api/v1/contact-lists', payload: { name: 'Leads' } }),
    status: 201,
  },
  'GET /api/v1/contact-lists/:id': {
    ok: async (c) => ({ url: `/api/v1/contact-lists/${await c.newListId(c.owner)}` }),
    status: 200,
    otherOwner: async (c) => ({ url: `/api/v1/contact-lists/${await c.newListId(c.other)}` }),
  },
  'PATCH /api/v1/contact-lists/:id': {
    ok: async (c) => ({
      url: `/api/v1/contact-lists/${await c.newListId(c.owner)}`,
      payload: { name: 'x' },
    }),
    status: 200,
    otherOwner: async (c) => ({
      url: `/api/v1/contact-lists/${await c.newListId(c.other)}`,
      payload: { name: 'x' },
    }),
  },
  'DELETE /api/v1/contact-lists/:id': {
    ok: async (c) => ({ url: `/api/v1/contact-lists/${await c.newListId(c.owner)}` }),
    status: 204,
    otherOwner: async (c) => ({ url: `/api/v1/contact-lists/${await c.newListId(c.other)}` }),
  },
  'GET /api/v1/contact-lists/:id/contacts': {
    ok: async (c) => ({ url: `/api/v1/contact-lists/${await c.newListId(c.owner)}/contacts` }),
    status: 200,
    otherOwner: async (c) => ({
      url: `/api/v1/contact-lists/${await c.newListId(c.other)}/contacts`,
    }),
  },
  'POST /api/v1/contact-lists/:id/contacts': {
    ok: async (c) => ({
      url: `/api/v1/contact-lists/${await c.newListId(c.owner)}/contacts`,
      payload: { contacts: [{ phone: '+15551230001', firstName: 'Ana' }] },
    }),
    status: 201,
    otherOwner: async (c) => ({
      url: `/api/v1/contact-lists/${await c.newListId(c.other)}/contacts`,
      payload: { contacts: [{ phone: '+15551230001' }] },
    }),
  },
  'GET /api/v1/campaigns/:id/bindings': {
    ok: async (c) => ({ url: `/api/v1/campaigns/${await c.newCampaignId(c.owner)}/bindings` }),
    status: 200,
    otherOwner: async (c) => ({
      url: `/api/v1/campaigns/${await c.newCampaignId(c.other)}/bindings`,
    }),
  },
  'PUT /api/v1/campaigns/:id/bindings': {
    ok: async (c) => ({
      url: `/api/v1/campaigns/${await c.newCampaignId(c.owner)}/bindings`,
      payload: {
        bindings: [{ integrationId: await c.newIntegrationId(c.owner), on: ['call.ended'] }],
      },
    }),
    status: 200,
    otherOwner: async (c) => ({
      url: `/api/v1/campaigns/${await c.newCampaignId(c.other)}/bindings`,
      payload: { bindings: [] },
    }),
  },
};

describe('every route declares and enforces its access', () => {
  let ctx: Ctx;
  let answers: RecordedAnswer[] = [];
  beforeAll(async () => {
    const t = await createTestApp('sqlite', {
      beforeReady: (app) => {
        answers = recordAnswers(app);
      },
    });
    const all = [...PERMISSIONS];
    ctx = {
      t,
      owner: await t.user({ grants: all }),
      other: await t.user({ grants: all }),
      target: await t.user(),
      async newRoleId() {
        return (await t.accounts.createRole({ name: `r-${Math.random()}`, description: '' })).id;
      },
      async newCampaignId(of) {
        return (
          await new CampaignStore(t.store.store.db).create(of.id, { name: 'c', type: 'voice' })
        ).id;
      },
      async newIntegrationId(of) {
        return (await createHttpIntegration(t.store.store, of.id)).id;
      },
      async newDeliveryId(of, status = 'pending') {
        const integrationId = await this.newIntegrationId(of);
        const id = `d-${Math.random()}`;
        await enqueueDeliveries(t.store.store.db, [{ id, ownerId: of.id, integrationId }]);
        if (status === 'failed') {
          await t.store.store.db
            .updateTable('deliveries')
            .set({ status: 'failed' })
            .where('id', '=', id)
            .execute();
        }
        return id;
      },
      async newReplayJobPath(of) {
        const integrationId = await this.newIntegrationId(of);
        const job = await new ReplayJobStore(t.store.store.db).create({
          ownerId: of.id,
          integrationId,
          since: 0,
        });
        return `${integrationId}/replay/${job.id}`;
      },
      async newListId(of) {
        const contacts = new ContactStore(t.store.store);
        const list = await contacts.createList(of.id, 'l');
        await contacts.addContacts(list.id, [{ phone: '+15551230001' }]);
        return list.id;
      },
      async newRunId(of, state = 'idle') {
        const campaign = await new CampaignStore(t.store.store.db).create(of.id, {
          name: 'c',
          type: 'integration',
          contactListId: await this.newListId(of),
          integrationId: await this.newIntegrationId(of),
          ratePerSecond: 1,
        });
        const runs = new CampaignRunStore(t.store.store);
        if (state !== 'idle') await runs.act(campaign.id, undefined, 'start');
        if (state === 'paused') await runs.act(campaign.id, undefined, 'pause');
        return campaign.id;
      },
      async newKeyId(of) {
        return (await t.accounts.credentials.createApiKey(of.id, 'k')).id;
      },
    };
  });
  afterAll(async () => ctx.t.close());

  it('has a case for every route', () => {
    const routes = ctx.t.app.routeTable.map((r) => `${r.method} ${r.url}`);
    expect(routes.filter((r) => !(r in CASES))).toEqual([]);
    expect(Object.keys(CASES).filter((c) => !routes.includes(c))).toEqual([]);
  });

  it.each(Object.entries(CASES))('%s', async (key, testCase) => {
    const { t } = ctx;
    const route = t.app.routeTable.find((r) => `${r.method} ${r.url}` === key)!;
    const method = route.method as 'GET';
    const call = async (req: Req, headers: Record<string, string>) =>
      t.app.inject({
        method,
        url: req.url,
        headers,
        ...(req.payload === undefined ? {} : { payload: req.payload as object }),
      });

    if (route.access !== 'public') {
      const anonymous = await call(await testCase.ok(ctx), {});
      expect(anonymous.statusCode, `${key} without credentials`).toBe(401);
      expect(anonymous.json().error.code).toBe('UNAUTHENTICATED');
    }
    if (route.access !== 'public' && route.access !== 'authenticated') {
      const noGrants = await t.user();
      const forbidden = await call(await testCase.ok(ctx), noGrants.headers);
      expect(forbidden.statusCode, `${key} without ${route.access}`).toBe(403);
      expect(forbidden.json().error).toMatchObject({
        code: 'FORBIDDEN',
        details: { permission: route.access },
      });
    }
    if (testCase.otherOwner !== undefined) {
      const notYours = await call(await testCase.otherOwner(ctx), ctx.owner.headers);
      expect(notYours.statusCode, `${key} on another owner's object`).toBe(404);
    }
    let ownerHeaders: Record<string, string> = ctx.owner.headers;
    if (testCase.signedIn) {
      const byKey = await call(await testCase.ok(ctx), ctx.owner.headers);
      expect(byKey.statusCode, `${key} with an API key`).toBe(403);
      expect(byKey.json().error.code).toBe('SESSION_REQUIRED');
      ownerHeaders = { ...(await t.signIn(ctx.owner)) };
    }
    const owner = await call(await testCase.ok(ctx), ownerHeaders);
    expect(owner.statusCode, `${key} as owner: ${owner.body}`).toBe(testCase.status);
  });

  it('answered only statuses and fields /api/openapi.json describes', async () => {
    const doc = (await ctx.t.app.inject('/api/openapi.json')).json<{
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    }>();
    const hidden = ['/healthz', '/readyz', '/metrics', '/api/openapi.json'];
    const undocumented = answers
      .filter((a) => !hidden.includes(a.route.split(' ')[1]!))
      .filter((a) => {
        const [method, url] = a.route.split(' ') as [string, string];
        const path = url.replace(/:(\w+)/g, '{$1}');
        const responses = doc.paths[path]?.[method.toLowerCase()]?.responses ?? {};
        return !(String(a.status) in responses || `${String(a.status)[0]}XX` in responses);
      })
      .map((a) => `${a.route} ${a.status}`);
    expect(answers.filter((a) => a.status < 300).length).toBeGreaterThan(40);
    expect(undocumented).toEqual([]);
    expect(answers.filter((a) => a.dropped.length > 0)).toEqual([]);
  });

  it('refuses to register a route that declares no access', async () => {
    const app = Fastify();
    installAuthorization(app, ctx.t.accounts);
    expect(() => app.get('/forgot', async () => 'oops')).toThrow(
      'route GET /forgot must declare config.access',
    );
    await app.close();
  });
});
