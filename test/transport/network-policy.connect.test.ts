import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { HttpClient, type HttpOutcome } from '../../src/transport/http-client.js';
import { NetworkPolicy } from '../../src/transport/network-policy.js';
import type { Resolver } from '../../src/transport/safe-connect.js';
import { policyOpening, selfSignedCert, startServer, type TestServer } from './servers.js';

let v4: TestServer;
let v6: TestServer;

beforeAll(async () => {
  const ok = (_request: unknown, response: import('node:http').ServerResponse): void => {
    response.end('ok');
  };
  v4 = await startServer(ok);
  v6 = await startServer(ok, { host: '::1' });
});
afterAll(async () => {
  await v4.close();
  await v6.close();
});

async function get(policy: NetworkPolicy, url: string, resolve?: Resolver): Promise<HttpOutcome> {
  const client = new HttpClient({ policy, ...(resolve === undefined ? {} : { resolve }) });
  try {
    return await client.send({ method: 'GET', url, headers: [], timeoutMs: 5_000 });
  } finally {
    await client.close();
  }
}

/** Runs `fn` and answers the hosts Node was asked to open TCP connections to meanwhile. */
async function connectsDuring(fn: () => Promise<void>): Promise<string[]> {
  const spy = vi.spyOn(net, 'connect');
  try {
    await fn();
    return spy.mock.calls.map(([options]) =>
      String((options as unknown as net.TcpNetConnectOpts).host),
    );
  } finally {
    spy.mockRestore();
  }
}

describe('the network policy at connect time (HttpClient)', () => {
  const urls = {
    '127.0.0.1': () => `http://127.0.0.1:${v4.port}/`,
    localhost: () => `http://localhost:${v4.port}/`,
    '::ffff:127.0.0.1': () => `http://[::ffff:127.0.0.1]:${v4.port}/`,
    '::1': () => `http://[::1]:${v6.port}/`,
  };

  it.each(Object.keys(urls) as (keyof typeof urls)[])(
    '%s is refused by default, before any connection is opened',
    async (name) => {
      let outcome: HttpOutcome | undefined;
      const hosts = await connectsDuring(async () => {
        outcome = await get(new NetworkPolicy(), urls[name]());
      });
      expect(outcome).toMatchObject({ kind: 'refused' });
      if (outcome?.kind === 'refused') {
        expect(outcome.reason).toContain('loopback range, refused by the network policy');
        if (name === 'localhost') expect(outcome.reason).toMatch(/^localhost resolves to /);
      }
      expect(hosts).toEqual([]);
    },
  );

  it.each([
    ['127.0.0.1', '127.0.0.0/8'],
    ['localhost', '127.0.0.1/32'],
    ['::ffff:127.0.0.1', '127.0.0.0/8'],
    ['::1', '::1/128'],
  ] as const)('%s is allowed when %s is listed', async (name, cidr) => {
    let outcome: HttpOutcome | undefined;
    const hosts = await connectsDuring(async () => {
      outcome = await get(policyOpening(cidr), urls[name]());
    });
    expect(outcome).toMatchObject({ kind: 'response', status: 200 });
    // The connection went to the checked address itself, never to a name resolved again.
    expect(hosts).toEqual([
      {
        '127.0.0.1': '127.0.0.1',
        localhost: '127.0.0.1',
        '::ffff:127.0.0.1': '::ffff:7f00:1',
        '::1': '::1',
      }[name],
    ]);
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data/', 'link-local (cloud metadata)'],
    ['http://10.0.0.1/', 'private'],
    ['http://10.255.0.9:8080/', 'private'],
    ['http://[::ffff:169.254.169.254]/', 'link-local (cloud metadata)'],
    ['http://[fd00:ec2::254]/', 'unique-local (private)'],
    ['http://100.64.0.1/', 'carrier-grade NAT'],
    ['http://0.0.0.0:80/', 'this-network'],
  ])('%s is refused before any connection is opened', async (url, range) => {
    let outcome: HttpOutcome | undefined;
    const hosts = await connectsDuring(async () => {
      outcome = await get(new NetworkPolicy(), url);
    });
    expect(outcome).toMatchObject({ kind: 'refused' });
    if (outcome?.kind === 'refused') expect(outcome.reason).toContain(`in the ${range} range`);
    expect(hosts).toEqual([]);
  });

  it('refuses a name that resolves to a private address (DNS pointing inside)', async () => {
    const resolve: Resolver = () => Promise.resolve([{ address: '10.0.0.7', family: 4 }]);
    const outcome = await get(policyOpening('127.0.0.0/8'), 'http://crm.example/', resolve);
    expect(outcome).toMatchObject({
      kind: 'refused',
      reason: expect.stringMatching(
        /^crm\.example resolves to 10\.0\.0\.7: address 10\.0\.0\.7 is in the private range/,
      ) as unknown,
    });
  });

  it('connects a name only to its allowed addresses, and to the address it checked', async () => {
    // The first answer is refused (never connected to); a second lookup would say "10.0.0.8"
    // (rebinding): only one lookup is made, and the socket goes to the checked address.
    let lookups = 0;
    const resolve: Resolver = () => {
      lookups += 1;
      return Promise.resolve(
        lookups === 1
          ? [
              { address: '10.0.0.7', family: 4 },
              { address: '127.0.0.1', family: 4 },
            ]
          : [{ address: '10.0.0.8', family: 4 }],
      );
    };
    let outcome: HttpOutcome | undefined;
    const hosts = await connectsDuring(async () => {
      outcome = await get(policyOpening('127.0.0.0/8'), `http://crm.example:${v4.port}/`, resolve);
    });
    expect(outcome).toMatchObject({ kind: 'response', status: 200 });
    expect(hosts).toEqual(['127.0.0.1']);
    expect(lookups).toBe(1);
  });

  it('tries the next allowed address when the first refuses the connection', async () => {
    const resolve: Resolver = () =>
      Promise.resolve([
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
      ]);
    // Port of the IPv6 server: 127.0.0.1 refuses (nothing listens there on that port).
    const outcome = await get(
      policyOpening('127.0.0.0/8', '::1/128'),
      `http://both.example:${v6.port}/`,
      resolve,
    );
    expect(outcome).toMatchObject({ kind: 'response', status: 200 });
  });
});

describe('URL host forms, redirects and proxies when only 127.0.0.1/32 is open', () => {
  // Listens on every address, IPv4 and IPv6: whatever loopback form a request reached, it answers.
  let any: TestServer;
  let proxy: TestServer;
  let proxied = 0;
  beforeAll(async () => {
    any = await startServer(
      (request, response) => {
        const to = new URL(request.url ?? '/', 'http://x').searchParams.get('to');
        if (to !== null) response.writeHead(307, { location: to }).end();
        else response.end('reached');
      },
      { host: '::' },
    );
    proxy = await startServer((_request, response) => {
      proxied += 1;
      response.end('via the proxy');
    });
  });
  afterAll(async () => {
    await any.close();
    await proxy.close();
  });

  const open = (): NetworkPolicy => policyOpening('127.0.0.1/32');

  it.each([
    ['127.0.0.2', 'loopback'],
    ['[::1]', 'loopback'],
    ['0.0.0.0', 'this-network'],
    ['0', 'this-network'],
    ['[::]', 'unspecified'],
    ['[::ffff:127.0.0.2]', 'loopback'],
    ['[::127.0.0.1]', 'IPv4-compatible (deprecated)'],
    ['[::ffff:0:7f00:1]', 'non-global IPv6'],
    ['[64:ff9b::7f00:2]', 'loopback'],
    ['[2002:7f00:2::]', 'loopback'],
    ['2130706434', 'loopback'],
    ['0x7f.2', 'loopback'],
    ['127.2', 'loopback'],
    ['0177.0.0.2', 'loopback'],
    ['127.0.0.2.', 'loopback'],
  ])('http://%s/ is refused, before any connection is opened', async (host, range) => {
    let outcome: HttpOutcome | undefined;
    const hosts = await connectsDuring(async () => {
      outcome = await get(open(), `http://${host}:${any.port}/`);
    });
    expect(outcome).toMatchObject({ kind: 'refused' });
    if (outcome?.kind === 'refused') expect(outcome.reason).toContain(`in the ${range} range`);
    expect(hosts).toEqual([]);
  });

  it.each(['2130706433', '0x7f.1', '127.1', '[::ffff:7f00:1]'])(
    'http://%s/ is 127.0.0.1 written another way, and reaches it',
    async (host) => {
      expect(await get(open(), `http://${host}:${any.port}/`)).toMatchObject({
        kind: 'response',
        status: 200,
      });
    },
  );

  it.each([
    ['127.0.0.2', 'loopback'],
    ['[::1]', 'loopback'],
    ['0.0.0.0', 'this-network'],
    ['[::ffff:127.0.0.2]', 'loopback'],
  ])('a redirect to %s is refused', async (host, range) => {
    const to = encodeURIComponent(`http://${host}:${any.port}/`);
    const client = new HttpClient({ policy: open() });
    try {
      const outcome = await client.send({
        method: 'GET',
        url: `http://127.0.0.1:${any.port}/?to=${to}`,
        headers: [],
        timeoutMs: 5_000,
        maxRedirects: 5,
      });
      expect(outcome).toMatchObject({
        kind: 'refused',
        reason: expect.stringContaining(`in the ${range} range`) as unknown,
      });
    } finally {
      await client.close();
    }
  });

  it('ignores HTTP_PROXY, HTTPS_PROXY and ALL_PROXY: the policy judges the real destination', async () => {
    for (const name of ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY']) {
      vi.stubEnv(name, proxy.origin);
    }
    try {
      const outcome = await get(open(), `http://127.0.0.2:${any.port}/`);
      expect(outcome).toMatchObject({ kind: 'refused' });
      expect(await get(open(), `http://127.0.0.1:${any.port}/`)).toMatchObject({
        kind: 'response',
        status: 200,
      });
      expect(proxied).toBe(0);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('TLS through the policy connector', () => {
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

  async function getSecure(url: string, withCa: boolean): Promise<HttpOutcome> {
    const client = new HttpClient({
      policy: policyOpening('127.0.0.0/8'),
      ...(withCa ? { tls: { ca } } : {}),
    });
    try {
      return await client.send({ method: 'GET', url, headers: [], timeoutMs: 5_000 });
    } finally {
      await client.close();
    }
  }

  it('verifies certificates: an unknown issuer is a network error', async () => {
    const outcome = await getSecure(`https://localhost:${secure.port}/`, false);
    expect(outcome).toMatchObject({ kind: 'network-error', code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  });

  it('checks the certificate against the hostname while connecting to the checked address', async () => {
    const servernames: unknown[] = [];
    const spy = vi.spyOn(tls, 'connect');
    try {
      const outcome = await getSecure(`https://localhost:${secure.port}/`, true);
      expect(outcome).toMatchObject({ kind: 'response', status: 200 });
      if (outcome.kind === 'response') expect(outcome.body.toString()).toBe('secure');
      for (const [options] of spy.mock.calls) {
        const { host, servername } = options as tls.ConnectionOptions;
        servernames.push({ host, servername });
      }
    } finally {
      spy.mockRestore();
    }
    expect(servernames).toEqual([{ host: '127.0.0.1', servername: 'localhost' }]);
  });

  it('refuses a certificate that does not name the host', async () => {
    const outcome = await getSecure(`https://127.0.0.1:${secure.port}/`, true);
    expect(outcome).toMatchObject({ kind: 'network-error', code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });
});
