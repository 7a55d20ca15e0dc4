/**
 * The catalog holds every SPEC §3 token (and only those), each with type, description and an
 * example; every leaf of a SPEC §8.1 event is a token; `GET /api/v1/tokens` serves the catalog to
 * users with the `integration` permission.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findToken, TOKENS } from '../../src/domain/tokens.js';
import { tokensRoutes } from '../../src/api/tokens.routes.js';
import { installAuthorization } from '../../src/auth/authorize.js';
import { AppError, errorBody } from '../../src/errors.js';
import { AccountStore } from '../../src/store/account-store.js';
import { compileTemplate } from '../../src/template/compile.js';
import { FILTER_DOCS } from '../../src/template/filters.js';
import { createTestStore, type TestStore } from '../helpers/store.js';

const SPEC_TOKENS = [
  ...[
    'id',
    'campaignId',
    'phone',
    'callerId',
    'direction',
    'status',
    'hangupCause',
    'amd',
    'startedAt',
    'answeredAt',
    'endedAt',
    'duration',
    'billsec',
    'attempt',
    'dtmf',
    'ivrInput',
    'recordingUrl',
    'disposition',
  ].map((f) => `call.${f}`),
  ...[
    'id',
    'phone',
    'firstName',
    'lastName',
    'email',
    'address',
    'description',
    'custom',
    'custom.<name>',
  ].map((f) => `contact.${f}`),
  'campaign.id',
  'campaign.name',
  'campaign.type',
  'event.id',
  'event.type',
  'event.occurredAt',
  'integration.id',
  'integration.name',
  'system.now',
  'system.timestamp',
  'ivr.<name>',
];

describe('the catalog', () => {
  it('lists exactly the SPEC §3 tokens, each described with an example', () => {
    expect(TOKENS.map((t) => t.token).sort()).toEqual([...SPEC_TOKENS].sort());
    for (const token of TOKENS) {
      expect(token.description.length).toBeGreaterThan(2);
      expect(token.example).toBeDefined();
      expect(token.token.startsWith(`${token.group}.`)).toBe(true);
    }
    expect(TOKENS.find((t) => t.token === 'call.status')?.values).toEqual([
      'answered',
      'no_answer',
      'busy',
      'failed',
      'cancelled',
    ]);
  });

  it('names every leaf of the SPEC §8.1 event as it arrives', () => {
    const event = {
      id: 'ev-1',
      type: 'call.ended',
      occurredAt: '2026-11-27T10:00:00Z',
      call: { id: 'c-9', phone: '+15551234567', status: 'answered', duration: 42 },
      contact: { id: 'k-3', phone: '+15551234567', firstName: 'Ana', custom: { plan: 'gold' } },
    };
    const leaves = (prefix: string, value: object): string[][] =>
      Object.entries(value).flatMap(([key, v]) =>
        v !== null && typeof v === 'object'
          ? leaves(`${prefix}.${key}`, v)
          : [[...`${prefix}.${key}`.split('.')]],
      );
    const paths = [
      ...leaves('call', event.call),
      ...leaves('contact', event.contact),
      ['event', 'id'],
      ['event', 'type'],
      ['event', 'occurredAt'],
    ];
    for (const path of paths) expect(findToken(path), path.join('.')).toBeDefined();
  });

  it('each token and each filter example compiles', () => {
    for (const token of TOKENS) {
      const source = `{{${token.token.replace('<name>', 'sample')}}}`;
      expect(compileTemplate(source, 'text', { field: 'f' }).ok, source).toBe(true);
    }
    for (const filter of FILTER_DOCS) {
      const context = filter.example.startsWith('{"') ? 'json' : 'text';
      expect(compileTemplate(filter.example, context, { field: 'f' }).ok, filter.example).toBe(
        true,
      );
    }
  });
});

describe('GET /api/v1/tokens', () => {
  let store: TestStore;
  let app: FastifyInstance;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    store = await createTestStore('sqlite');
    const accounts = new AccountStore(store.store);
    app = Fastify();
    app.setErrorHandler((error, _request, reply) => {
      if (error instanceof AppError)
        return reply.code(error.status).send(errorBody(error.code, error.message));
      return reply.send(error);
    });
    await app.register(cookie);
    installAuthorization(app, accounts);
    await app.register(tokensRoutes);
    await app.ready();
    for (const [name, grant] of [
      ['with', true],
      ['without', false],
    ] as const) {
      const user = await accounts.createUser({
        email: `${name}@example.com`,
        name,
        admin: false,
        passwordHash: 'x',
      });
      if (grant) await accounts.grantUser(user.id, 'integration');
      const key = await accounts.credentials.createApiKey(user.id, 't');
      keys[name] = key.key;
    }
  });
  afterAll(async () => {
    await app.close();
    await store.destroy();
  });

  it('declares the integration permission', () => {
    expect(app.routeTable).toContainEqual({
      method: 'GET',
      url: '/api/v1/tokens',
      access: 'integration',
    });
  });

  it('answers 401 without credentials and 403 without the permission', async () => {
    expect((await app.inject({ url: '/api/v1/tokens' })).statusCode).toBe(401);
    const forbidden = await app.inject({
      url: '/api/v1/tokens',
      headers: { authorization: `Bearer ${keys['without']}` },
    });
    expect(forbidden.statusCode).toBe(403);
  });

  it('serves tokens, groups, filters and contexts', async () => {
    const response = await app.inject({
      url: '/api/v1/tokens',
      headers: { authorization: `Bearer ${keys['with']}` },
    });
    expect(response.statusCode).toBe(200);
    const body = response.json<{
      items: { token: string }[];
      nextCursor: null;
      groups: unknown[];
      filters: { name: string }[];
      contexts: string[];
    }>();
    expect(body.items.map((t) => t.token).sort()).toEqual([...SPEC_TOKENS].sort());
    expect(body.items.find((t) => t.token === 'contact.custom.<name>')).toMatchObject({
      wildcard: true,
      type: 'string',
    });
    expect(body.nextCursor).toBeNull();
    expect(body.groups).toHaveLength(7);
    expect(body.filters.map((f) => f.name)).toEqual([
      'default',
      'json',
      'date',
      'upper',
      'lower',
      'trim',
      'digits',
      'e164',
      'urlencode',
      'raw',
    ]);
    expect(body.contexts).toEqual(['url', 'json', 'xml', 'form', 'text', 'header', 'soap']);
  });
});
