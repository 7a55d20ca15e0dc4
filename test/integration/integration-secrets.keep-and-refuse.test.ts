import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { maskSecrets, openSecrets, sealSecrets } from '../../src/domain/integration-secrets.js';
import { SecretBox } from '../../src/security/secret-box.js';
import type { HttpConfig, IntegrationOptions, SoapConfig } from '../../src/domain/integration.js';

const box = new SecretBox(randomBytes(32));
const options: IntegrationOptions = {
  timeoutMs: 1000,
  retry: { maxAttempts: 1 },
  responseVariables: [],
};
const http = (headers: string): HttpConfig => ({
  url: 'https://x.example',
  method: 'POST',
  body: '',
  headers,
  responseEncoding: 'json',
  maxRedirects: 0,
});

describe('secrets: sealed, masked, kept', () => {
  it('round-trips: sealed at rest, masked in reads, opened for sending', () => {
    const sealed = sealSecrets(
      http('Content-Type: text/plain\nAuthorization: Bearer abcd'),
      options,
      box,
    );
    expect(sealed.problems).toEqual([]);
    expect(sealed.config.headers).toMatch(/^Content-Type: text\/plain\nAuthorization: enc:v1:/);
    expect(maskSecrets(sealed.config, options).config.headers).toBe(
      'Content-Type: text/plain\nAuthorization: ••••',
    );
    expect(openSecrets(sealed.config, options, box).config.headers).toBe(
      'Content-Type: text/plain\nAuthorization: Bearer abcd',
    );
  });

  it('keeps each of two same-named secret headers when both come back masked', () => {
    const first = sealSecrets(http('Cookie: a=AAAA\nCookie: b=BBBB'), options, box);
    const again = sealSecrets(http('Cookie: ••••\nCookie: ••••'), options, box, first);
    expect(again.problems).toEqual([]);
    expect(openSecrets(again.config, options, box).config.headers).toBe(
      'Cookie: a=AAAA\nCookie: b=BBBB',
    );
  });

  it('refuses a mask it cannot match once a same-named secret was added or removed', () => {
    const first = sealSecrets(http('Cookie: a=AAAA\nCookie: b=BBBB'), options, box);
    // The first Cookie line removed: "••••" could mean either stored value.
    const removed = sealSecrets(http('Cookie: ••••'), options, box, first);
    expect(removed.problems).toEqual([
      {
        field: 'config.headers',
        line: 1,
        message:
          '"••••" keeps a stored secret, but 2 "Cookie" lines were stored and 1 came back: type the value',
      },
    ]);
    // Typed values need no match; a single stored line still matches its mask.
    expect(sealSecrets(http('Cookie: c=CCCC'), options, box, first).problems).toEqual([]);
    const single = sealSecrets(http('Authorization: Bearer abcd'), options, box);
    const added = sealSecrets(
      http('Authorization: ••••\nAuthorization: Bearer efgh'),
      options,
      box,
      single,
    );
    expect(added.problems).toEqual([]);
    expect(openSecrets(added.config, options, box).config.headers).toBe(
      'Authorization: Bearer abcd\nAuthorization: Bearer efgh',
    );
  });

  it('keeps each of two same-named secret SOAP parameters, in order', () => {
    const soap = (params: SoapConfig['params']): SoapConfig => ({
      wsdlUrl: 'https://erp.example/ws?wsdl',
      operation: 'Op',
      params,
      headers: '',
      responseEncoding: 'xml',
    });
    const first = sealSecrets(
      soap([
        { name: 'pin', value: '1111', secret: true },
        { name: 'pin', value: '2222', secret: true },
      ]),
      options,
      box,
    );
    const again = sealSecrets(
      soap([
        { name: 'pin', value: '••••', secret: true },
        { name: 'pin', value: '••••', secret: true },
      ]),
      options,
      box,
      first,
    );
    expect(again.problems).toEqual([]);
    const opened = openSecrets(again.config, options, box).config;
    expect(opened.params.map((p) => p.value)).toEqual(['1111', '2222']);
    const removed = sealSecrets(
      soap([{ name: 'pin', value: '••••', secret: true }]),
      options,
      box,
      first,
    );
    expect(removed.problems).toEqual([
      {
        field: 'config.params.0.value',
        message:
          '"••••" keeps a stored secret, but 2 "pin" parameters were stored and 1 came back: type the value',
      },
    ]);
  });

  it('refuses a mask where nothing secret is kept, instead of sending "••••"', () => {
    const soap: SoapConfig = {
      wsdlUrl: 'https://erp.example/ws?wsdl',
      operation: 'Op',
      params: [{ name: 'pin', value: '1234', secret: true }],
      headers: '',
      responseEncoding: 'xml',
    };
    const first = sealSecrets(soap, options, box);
    const unticked = sealSecrets(
      { ...soap, params: [{ name: 'pin', value: '••••', secret: false }] },
      options,
      box,
      first,
    );
    expect(unticked.problems).toEqual([
      {
        field: 'config.params.0.value',
        message: '"••••" is not a value: type it (or keep the parameter marked secret)',
      },
    ]);
    const plainHeader = sealSecrets(http('Content-Type: ••••'), options, box);
    expect(plainHeader.problems).toEqual([
      { field: 'config.headers', line: 1, message: '"••••" is not a value: type it' },
    ]);
  });
});

describe('signing secret rotation', () => {
  const secret = (fill: number) => `whsec_${Buffer.alloc(32, fill).toString('base64')}`;
  const signing = (signing: NonNullable<IntegrationOptions['signing']>): IntegrationOptions => ({
    ...options,
    signing,
  });
  const opened = (sealed: { config: HttpConfig; options: IntegrationOptions }) =>
    openSecrets(sealed.config, sealed.options, box).options.signing;

  it('keeps the secret stored until now as previousSecret when a new one is typed beside the mask', () => {
    const first = sealSecrets(http(''), signing({ secret: secret(1) }), box);
    const rotated = sealSecrets(
      http(''),
      signing({
        secret: secret(2),
        previousSecret: '••••',
        previousExpiresAt: '2030-01-01T00:00:00Z',
      }),
      box,
      first,
    );
    expect(rotated.problems).toEqual([]);
    expect(opened(rotated)).toEqual({
      secret: secret(2),
      previousSecret: secret(1),
      previousExpiresAt: '2030-01-01T00:00:00Z',
    });
    // Saved again as read (both masked): both kept.
    const again = sealSecrets(
      http(''),
      signing({
        secret: '••••',
        previousSecret: '••••',
        previousExpiresAt: '2030-01-01T00:00:00Z',
      }),
      box,
      rotated,
    );
    expect(opened(again)).toEqual(opened(rotated));
    // The current secret typed again (an API client that knows it) is no rotation: the previous
    // secret stays, its grace period going on.
    const resent = sealSecrets(
      http(''),
      signing({
        secret: secret(2),
        previousSecret: '••••',
        previousExpiresAt: '2030-01-01T00:00:00Z',
      }),
      box,
      rotated,
    );
    expect(opened(resent)).toEqual(opened(rotated));
  });
});
