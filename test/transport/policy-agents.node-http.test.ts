import http from 'node:http';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetworkPolicy } from '../../src/transport/network-policy.js';
import {
  createPolicyAgents,
  type PolicyAgents,
  type Resolver,
} from '../../src/transport/safe-connect.js';
import { policyOpening, selfSignedCert, startServer, type TestServer } from './servers.js';

let server: TestServer;
let v6: TestServer;

beforeAll(async () => {
  const handler: http.RequestListener = (request, response) => {
    if (request.url === '/redirect-to-metadata') {
      response.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
      response.end();
      return;
    }
    response.end(`ok ${request.url}`);
  };
  server = await startServer(handler);
  v6 = await startServer(handler, { host: '::1' });
});
afterAll(async () => {
  await server.close();
  await v6.close();
});

type Result = { status: number; body: string } | { error: NodeJS.ErrnoException };

/** One node:http GET through the agent; the error, if any, is the result. */
function get(url: string, agent: http.Agent): Promise<Result> {
  return new Promise((resolve) => {
    const request = http.get(url, { agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
      );
    });
    request.on('error', (error) => resolve({ error }));
  });
}

async function withAgents<T>(
  policy: NetworkPolicy,
  fn: (agents: PolicyAgents) => Promise<T>,
  resolve?: Resolver,
): Promise<T> {
  const agents = createPolicyAgents(policy, resolve === undefined ? {} : { resolve });
  try {
    return await fn(agents);
  } finally {
    agents.httpAgent.destroy();
    agents.httpsAgent.destroy();
  }
}

describe('createPolicyAgents: node:http requests meet the same policy', () => {
  it.each([
    ['127.0.0.1', () => `${server.origin}/a`],
    ['localhost', () => `http://localhost:${server.port}/a`],
    ['::ffff:127.0.0.1', () => `http://[::ffff:127.0.0.1]:${server.port}/a`],
    ['::1', () => `${v6.origin}/a`],
    ['169.254.169.254', () => 'http://169.254.169.254/latest/meta-data/'],
    ['10.0.0.1', () => 'http://10.0.0.1/'],
  ])('%s is refused by default with ERR_CALLHOOK_NETWORK_POLICY', async (_name, url) => {
    const result = await withAgents(new NetworkPolicy(), ({ httpAgent }) => get(url(), httpAgent));
    expect(result).toMatchObject({
      error: {
        code: 'ERR_CALLHOOK_NETWORK_POLICY',
        reason: expect.stringContaining('refused by the network policy') as unknown,
      },
    });
  });

  it.each([
    ['127.0.0.1', () => `${server.origin}/a`, '127.0.0.0/8'],
    ['localhost', () => `http://localhost:${server.port}/a`, '127.0.0.1/32'],
    ['::ffff:127.0.0.1', () => `http://[::ffff:127.0.0.1]:${server.port}/a`, '127.0.0.0/8'],
    ['::1', () => `${v6.origin}/a`, '::1/128'],
  ])('%s is allowed when listed', async (_name, url, cidr) => {
    const result = await withAgents(policyOpening(cidr), ({ httpAgent }) => get(url(), httpAgent));
    expect(result).toEqual({ status: 200, body: 'ok /a' });
  });

  it('refuses a name that resolves to a refused address, and connects a name only to what it checked', async () => {
    const inside: Resolver = () => Promise.resolve([{ address: '10.9.8.7', family: 4 }]);
    const refused = await withAgents(
      policyOpening('127.0.0.0/8'),
      ({ httpAgent }) => get('http://erp.example/ws', httpAgent),
      inside,
    );
    expect(refused).toMatchObject({
      error: {
        code: 'ERR_CALLHOOK_NETWORK_POLICY',
        message: expect.stringMatching(/^erp\.example resolves to 10\.9\.8\.7/) as unknown,
      },
    });

    const mixed: Resolver = () =>
      Promise.resolve([
        { address: '10.9.8.7', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ]);
    const allowed = await withAgents(
      policyOpening('127.0.0.0/8'),
      ({ httpAgent }) => get(`http://erp.example:${server.port}/ws`, httpAgent),
      mixed,
    );
    expect(allowed).toEqual({ status: 200, body: 'ok /ws' });
  });

  it('keeps connections alive across requests', async () => {
    const before = server.connections();
    await withAgents(policyOpening('127.0.0.0/8'), async ({ httpAgent }) => {
      for (let i = 0; i < 5; i += 1)
        expect(await get(`${server.origin}/k`, httpAgent)).toMatchObject({ status: 200 });
    });
    expect(server.connections() - before).toBe(1);
  });

  it('hands a redirect target to the policy again (the client opens a new socket for it)', async () => {
    await withAgents(policyOpening('127.0.0.0/8'), async ({ httpAgent }) => {
      const first = await get(`${server.origin}/redirect-to-metadata`, httpAgent);
      expect(first).toMatchObject({ status: 302 });
      // What a redirect-following library (axios' follow-redirects) does next:
      const next = await get('http://169.254.169.254/latest/meta-data/', httpAgent);
      expect(next).toMatchObject({ error: { code: 'ERR_CALLHOOK_NETWORK_POLICY' } });
    });
  });
});

describe('createPolicyAgents: https and axios', () => {
  let secure: TestServer;
  let ca: string;

  beforeAll(async () => {
    const pair = selfSignedCert();
    ca = pair.cert;
    secure = await startServer((_request, response) => response.end('secure'), { tls: pair });
  });
  afterAll(async () => {
    await secure.close();
  });

  function getSecure(url: string, agent: https.Agent): Promise<Result> {
    return new Promise((resolve) => {
      const request = https.get(url, { agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
      });
      request.on('error', (error) => resolve({ error }));
    });
  }

  it('the https agent checks the policy and verifies the certificate against the hostname', async () => {
    const url = `https://localhost:${secure.port}/`;
    const refused = await withAgents(new NetworkPolicy(), ({ httpsAgent }) =>
      getSecure(url, httpsAgent),
    );
    expect(refused).toMatchObject({ error: { code: 'ERR_CALLHOOK_NETWORK_POLICY' } });

    const unverified = createPolicyAgents(policyOpening('127.0.0.0/8'));
    try {
      expect(await getSecure(url, unverified.httpsAgent)).toMatchObject({
        error: { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' },
      });
    } finally {
      unverified.httpsAgent.destroy();
    }

    const trusted = createPolicyAgents(policyOpening('127.0.0.0/8'), { tls: { ca } });
    try {
      expect(await getSecure(url, trusted.httpsAgent)).toEqual({ status: 200, body: 'secure' });
      expect(
        await getSecure(`https://127.0.0.1:${secure.port}/`, trusted.httpsAgent),
      ).toMatchObject({
        error: { code: 'ERR_TLS_CERT_ALTNAME_INVALID' },
      });
    } finally {
      trusted.httpsAgent.destroy();
    }
  });

  it('axios (as the soap package uses it) goes through the agents, redirects included', async () => {
    const axios = (await import('axios')).default;
    await withAgents(policyOpening('127.0.0.0/8'), async ({ httpAgent, httpsAgent }) => {
      const ok = await axios.get<string>(`${server.origin}/soap`, {
        httpAgent,
        httpsAgent,
        proxy: false,
      });
      expect(ok.data).toBe('ok /soap');
      const redirected = await axios
        .get(`${server.origin}/redirect-to-metadata`, { httpAgent, httpsAgent, proxy: false })
        .then(
          () => undefined,
          (error: unknown) => error as { code?: string; message: string },
        );
      expect(redirected?.code).toBe('ERR_CALLHOOK_NETWORK_POLICY');
      expect(redirected?.message).toContain(
        '169.254.169.254 is in the link-local (cloud metadata) range',
      );
    });
  });
});
