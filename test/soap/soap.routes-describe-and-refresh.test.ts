/**
 * `POST /api/v1/soap/describe` and `POST /api/v1/soap/refresh` behind the real authorization
 * hook: 401 without credentials, 403 without the `integration` permission, the description for a
 * good WSDL, and a 400 naming the document and the problem for a bad one.
 */
import cookie from '@fastify/cookie';
import Fastify, { type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { soapRoutes } from '../../src/api/soap.routes.js';
import { installAuthorization } from '../../src/auth/authorize.js';
import { hashPassword } from '../../src/auth/passwords.js';
import type { Permission } from '../../src/domain/permissions.js';
import { AppError, errorBody } from '../../src/errors.js';
import { AccountStore } from '../../src/store/account-store.js';
import { SoapClient } from '../../src/transport/soap-client.js';
import { createTestStore, type TestStore } from '../helpers/store.js';
import { LOOPBACK_POLICY, startFileServer, type FileServer } from './soap-servers.js';

describe('the SOAP describe and refresh routes', () => {
  let store: TestStore;
  let app: FastifyInstance;
  let files: FileServer;
  let soap: SoapClient;
  let integrator: { authorization: string };
  let outsider: { authorization: string };

  beforeAll(async () => {
    store = await createTestStore('sqlite');
    files = await startFileServer();
    soap = new SoapClient({ policy: LOOPBACK_POLICY });
    const accounts = new AccountStore(store.store);
    const user = async (grants: Permission[]) => {
      const created = await accounts.createUser({
        email: `soap-${Math.random()}@example.com`,
        name: 'soap',
        admin: false,
        passwordHash: await hashPassword('a-long-password'),
      });
      for (const grant of grants) await accounts.grantUser(created.id, grant);
      const key = await accounts.credentials.createApiKey(created.id, 'test');
      return { authorization: `Bearer ${key.key}` };
    };
    integrator = await user(['integration']);
    outsider = await user(['campaign']);
    app = Fastify().withTypeProvider<TypeBoxTypeProvider>();
    // The same answer shape as buildApp's error handler, for AppError.
    app.setErrorHandler((error, _request, reply) => {
      if (error instanceof AppError) {
        void reply.code(error.status).send(errorBody(error.code, error.message, error.details));
      } else {
        void reply.code((error as { statusCode?: number }).statusCode ?? 500).send(error);
      }
    });
    await app.register(cookie);
    installAuthorization(app, accounts);
    await app.register(soapRoutes, { soap });
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    soap?.close();
    await files?.close();
    await store?.destroy();
  });

  const post = (url: string, wsdlUrl: string, headers: Record<string, string> = integrator) =>
    app.inject({ method: 'POST', url, headers, payload: { wsdlUrl } });

  it('needs credentials and the integration permission', async () => {
    const wsdlUrl = `${files.base}/dotnet-tickets.wsdl`;
    for (const url of ['/api/v1/soap/describe', '/api/v1/soap/refresh']) {
      expect((await post(url, wsdlUrl, {})).statusCode).toBe(401);
      const forbidden = await post(url, wsdlUrl, outsider);
      expect(forbidden.statusCode).toBe(403);
      expect(forbidden.json()).toMatchObject({
        error: { code: 'FORBIDDEN', details: { permission: 'integration' } },
      });
    }
  });

  it('answers the description, with nested parameters, and refresh fetches again', async () => {
    const wsdlUrl = `${files.base}/dotnet-tickets.wsdl`;
    const response = await post('/api/v1/soap/describe', wsdlUrl);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(
      body.services[0].ports.map((p: { name: string; soapVersion: string }) => [
        p.name,
        p.soapVersion,
      ]),
    ).toEqual([
      ['TicketsSoap', '1.1'],
      ['TicketsSoap12', '1.2'],
    ]);
    const create = body.services[0].ports[0].operations[0];
    expect(create.name).toBe('CreateTicket');
    expect(create.params[3].children[2].children[1]).toEqual({
      name: 'city',
      path: 'customer.address.city',
      type: 'string',
      required: false,
      repeated: false,
    });
    const hits = files.hits.get('/dotnet-tickets.wsdl');
    expect((await post('/api/v1/soap/describe', wsdlUrl)).statusCode).toBe(200);
    expect(files.hits.get('/dotnet-tickets.wsdl')).toBe(hits);
    expect((await post('/api/v1/soap/refresh', wsdlUrl)).statusCode).toBe(200);
    expect(files.hits.get('/dotnet-tickets.wsdl')).toBe((hits ?? 0) + 1);
  });

  it('answers 400 naming the failing document and what was wrong', async () => {
    const wsdlUrl = `${files.base}/wcf-main.wsdl`;
    files.override.set('/wcf-types.xsd', { status: 404, body: 'not found' });
    try {
      const response = await post('/api/v1/soap/refresh', wsdlUrl);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({
        error: {
          code: 'VALIDATION_FAILED',
          message: `The WSDL cannot be used: ${files.base}/wcf-types.xsd, imported by ${wsdlUrl}: answered HTTP 404: not found`,
          details: [
            {
              field: 'body.wsdlUrl',
              message: 'answered HTTP 404: not found',
              kind: 'wsdl_invalid',
              documentUrl: `${files.base}/wcf-types.xsd`,
              retryable: false,
            },
          ],
        },
      });
    } finally {
      files.override.clear();
    }
  });
});
