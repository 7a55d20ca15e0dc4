/**
 * Fuzzing the parsers of what comes from outside, each through its public entry point: the
 * CIDR lists of CALLHOOK_ALLOW_NETWORKS and CALLHOOK_TRUST_PROXY (loadConfig), `Retry-After`
 * (retryAfterMs), an HTTP integration's URL, headers and body at save (POST /api/v1/integrations)
 * and call events at ingest (POST /api/v1/events). A bad input is a ConfigError or a 400, never
 * an exception or a 500. Fixed seeds, so a failure replays.
 */
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { retryAfterMs } from '../../src/delivery/retry-policy.js';
import { createTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { callEvent } from '../helpers/pipeline.js';
import { DIALECTS } from '../helpers/store.js';

const SEED = 20_261_129;

/** Strings built from a grammar's own pieces, with some arbitrary UTF-16 among them. */
const soupOf = (pieces: readonly string[], maxLength = 12) =>
  fc
    .array(
      fc.oneof(
        { weight: 5, arbitrary: fc.constantFrom(...pieces) },
        { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 2 }) },
      ),
      { maxLength },
    )
    .map((p) => p.join(''));

const CIDR_PIECES = [
  '10',
  '0',
  '00',
  '010',
  '255',
  '256',
  '4294967295',
  '0x7f',
  '.',
  ':',
  '::',
  'ffff',
  'fd00',
  '1',
  '/',
  '8',
  '32',
  '33',
  '64',
  '128',
  '129',
  '999',
  '-1',
  '%eth0',
  ' ',
  ',',
  '\n',
  '::ffff:10.0.0.0',
  '10.0.0.0/8',
  'fd00::/8',
  '127.0.0.1',
  '[::1]',
  'true',
  'false',
  'é',
  '\u0000',
];

describe('CALLHOOK_ALLOW_NETWORKS and CALLHOOK_TRUST_PROXY under fuzzing', () => {
  it('gives a config or a ConfigError, and every network opened is the one written', () => {
    fc.assert(
      fc.property(soupOf(CIDR_PIECES), soupOf(CIDR_PIECES), (networks, proxies) => {
        let config;
        try {
          config = loadConfig({
            CALLHOOK_ALLOW_NETWORKS: networks,
            CALLHOOK_TRUST_PROXY: proxies,
          });
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          return;
        }
        for (const { cidr, range } of config.allowNetworks) {
          // Written as its own network: parsing it again opens exactly that range.
          const [address, prefix] = ipaddr.parseCIDR(cidr);
          expect(address.toString()).toBe(range[0].toString());
          expect(prefix).toBe(range[1]);
          expect(address.match(range)).toBe(true);
        }
      }),
      { seed: SEED, numRuns: 3_000 },
    );
  });
});

describe('Retry-After under fuzzing', () => {
  it('reads any value as undefined or a pause of at least zero', () => {
    const value = fc.oneof(
      soupOf([
        '0',
        '1',
        '120',
        '9'.repeat(400),
        '-5',
        '1.5',
        '1e3',
        ' ',
        'Mon',
        'Sun, ',
        'Wednesday, ',
        '06 Nov 1994 08:49:37 GMT',
        '31 Feb 2026 25:61:61 GMT',
        'Nov  6 08:49:37 1994',
        '+275760',
        'GMT',
        ',',
      ]),
      fc.string({ unit: 'binary', maxLength: 40 }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('Retry-After', 'retry-after', 'X'), value), {
          maxLength: 3,
        }),
        fc.integer({ min: 0, max: 8.64e15 }),
        (headers, now) => {
          const ms = retryAfterMs(headers, now);
          if (ms !== undefined) expect(ms).toBeGreaterThanOrEqual(0);
        },
      ),
      { seed: SEED, numRuns: 5_000 },
    );
  });
});

/** Arbitrary JSON-ish values for event fields: deep, odd numbers, NUL, lone surrogates. */
const leaf = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(
    '',
    '\u0000',
    '\uD800',
    'a\uDC00',
    'NULL',
    "'; drop table events; --",
    '2026-11-27T10:00:00Z',
    '2026-02-30T10:00:00Z',
    '+275760-09-13T00:00:00Z',
    '9999-12-31T23:59:59.999999999Z',
    '1970-01-01T00:00:00+99:99',
    'x'.repeat(70_000),
  ),
  fc.double(),
  fc.constantFrom(-0, 1e308, -1e308, 2 ** 53 + 1, 1e-320),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(
      fc.constantFrom('id', 'phone', 'custom', 'plan', 'constructor', '__proto__', 'a b', ''),
      tie('value'),
      { maxKeys: 3 },
    ),
  ),
})).value;
const nested = fc.tuple(fc.integer({ min: 60, max: 70 }), fc.boolean()).map(([depth, arrays]) => {
  let value: unknown = 'x';
  for (let i = 0; i < depth; i += 1) value = arrays ? [value] : { a: value };
  return value;
});
/** A call event with some fields replaced by anything, dropped, or added. */
const event = fc
  .tuple(
    fc.string({ minLength: 1, maxLength: 12 }),
    fc.dictionary(
      fc.constantFrom('id', 'type', 'occurredAt', 'campaignId', 'call', 'contact', 'ivr', 'extra'),
      fc.oneof(json, nested, fc.constant(undefined)),
      { maxKeys: 3 },
    ),
    fc.dictionary(
      fc.constantFrom('id', 'phone', 'status', 'duration', 'attempt', 'custom', 'x'),
      fc.oneof(json, nested),
      { maxKeys: 3 },
    ),
    fc.boolean(),
  )
  .map(([id, top, inner, inCall]) => {
    const base = callEvent(id);
    const e: Record<string, unknown> = { ...base, ...top };
    if (inCall) {
      e['call'] = { ...base.call, ...inner };
    } else {
      e['contact'] = { ...base.contact, ...inner };
    }
    return e;
  });
const body = fc.oneof(
  { weight: 4, arbitrary: event },
  { weight: 3, arbitrary: fc.array(event, { maxLength: 4 }).map((events) => ({ events })) },
  { weight: 1, arbitrary: json },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.array(event, { maxLength: 2 }), json)
      .map(([events, extra]) => ({ events: [...events, extra] })),
  },
);
/** Raw request text: JSON of a body, cut, or with bytes inserted. */
const payload = fc.oneof(
  { weight: 4, arbitrary: body.map((b) => JSON.stringify(b)) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(body, fc.nat(), fc.string({ unit: 'binary', maxLength: 4 }))
      .map(([b, at, insert]) => {
        const text = JSON.stringify(b);
        const cut = at % (text.length + 1);
        return text.slice(0, cut) + insert + text.slice(cut);
      }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{"__proto__": {"id": "x"}, "id": "p"}',
      '{"constructor": {"prototype": {}}, "id": "p"}',
      '{"events": {"length": 1}}',
      '',
      'null',
      '[]',
    ),
  },
);

const URL_PIECES = [
  'https://',
  'http://',
  'ftp://',
  'h.example',
  '127.0.0.1',
  '[::1]',
  ':',
  '443',
  '99999',
  '/',
  '..',
  '%2e',
  '?',
  '#',
  '@',
  'u:p@',
  ' ',
  '\t',
  '\n',
  '{{contact.phone}}',
  '{{call.id | urlencode}}',
  '{{ contact.custom.url | raw }}',
  '{{',
  '}}',
  '"',
  'é',
  '\uD800',
  '\u0000',
];
const HEADER_PIECES = [
  'Content-Type: application/json',
  'Content-Type: text/xml; charset=utf-8',
  'Content-Type: application/x-www-form-urlencoded',
  'Content-Length: 3',
  'Authorization: Bearer {{contact.id}}',
  'X-A: ',
  'X A: b',
  ':',
  '\n',
  '\r\n',
  '\r',
  ' ',
  '{{call.id}}',
  '{{call.id | raw}}',
  '\u0001',
  'é',
];
const BODY_PIECES = [
  '{',
  '}',
  '[',
  ']',
  '"',
  ':',
  ',',
  '<a>',
  '</a>',
  '<![CDATA[',
  ']]>',
  '{{call.id}}',
  '{{contact.custom | json}}',
  '{{call.status | raw}}',
  '{{',
  '}}',
  '&',
  '=',
  '\n',
  '\uD800',
];
const integration = fc.record({
  name: fc.string({ minLength: 1, maxLength: 20 }),
  type: fc.constant('http'),
  config: fc.record(
    {
      url: fc.oneof(
        soupOf(URL_PIECES),
        soupOf(URL_PIECES).map((rest) => `https://h.example/${rest}`),
      ),
      method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'get', 'TRACE', ''),
      headers: soupOf(HEADER_PIECES, 6),
      body: soupOf(BODY_PIECES),
    },
    { requiredKeys: ['url'] },
  ),
});

describe.each(DIALECTS)('the API under fuzzing, on %s', (backend) => {
  const withApp = async (grants: ('integration' | 'campaign' | 'event_ingest')[]) => {
    const t = await createTestApp(backend);
    const user = await t.user({ grants });
    return { t, user };
  };
  const run = async (
    test: (t: TestApp, user: TestUser) => Promise<void>,
    grants: ('integration' | 'campaign' | 'event_ingest')[],
  ) => {
    const { t, user } = await withApp(grants);
    try {
      await test(t, user);
    } finally {
      await t.close();
    }
  };

  it('answers 201 or 400, never 500, to any HTTP integration', () =>
    run(
      async (t, user) => {
        await fc.assert(
          fc.asyncProperty(integration, async (input) => {
            const res = await t.app.inject({
              method: 'POST',
              url: '/api/v1/integrations',
              headers: user.headers,
              payload: input,
            });
            expect([201, 400], res.body).toContain(res.statusCode);
          }),
          { seed: SEED, numRuns: 300 },
        );
      },
      ['integration'],
    ));

  it('answers 202 or 400 (413 past the limit), never 500, to any events body', () =>
    run(
      async (t, user) => {
        const campaign = await t.app.inject({
          method: 'POST',
          url: '/api/v1/campaigns',
          headers: user.headers,
          payload: { id: 'spring', name: 'Spring', type: 'voice' },
        });
        expect(campaign.statusCode, campaign.body).toBe(201);
        await fc.assert(
          fc.asyncProperty(payload, async (text) => {
            const res = await t.app.inject({
              method: 'POST',
              url: '/api/v1/events',
              headers: { ...user.headers, 'content-type': 'application/json' },
              payload: text,
            });
            expect([202, 400, 413], res.body).toContain(res.statusCode);
          }),
          { seed: SEED, numRuns: 300 },
        );
      },
      ['campaign', 'event_ingest'],
    ));
});
