import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { activeSecrets, signWebhook, signingKey } from '../../src/delivery/signing.js';

const NOW = Date.now();
const secret = () => `whsec_${randomBytes(24).toString('base64')}`;

describe('Standard Webhooks signing', () => {
  it('is verified by the reference library', () => {
    const key = secret();
    const body = JSON.stringify({ status: 'answered', name: 'Ana' });
    const headers = signWebhook('01890a5d-ac96-774b-bcce-b302099a8057', body, [key], NOW);
    expect(headers['webhook-timestamp']).toBe(String(Math.floor(NOW / 1000)));
    expect(new Webhook(key).verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(headers['webhook-signature']).toBe(
      new Webhook(key).sign(headers['webhook-id'], new Date(NOW), body),
    );
  });

  it('rejects a tampered body', () => {
    const key = secret();
    const headers = signWebhook('msg_1', '{"a":1}', [key], NOW);
    expect(() => new Webhook(key).verify('{"a":2}', { ...headers })).toThrow();
  });

  it('signs with the old and the new secret during a rotation, each verifiable', () => {
    const old = secret();
    const next = secret();
    const signing = {
      secret: next,
      previousSecret: old,
      previousExpiresAt: new Date(NOW + 3_600_000).toISOString(),
    };
    const secrets = activeSecrets(signing, NOW);
    expect(secrets).toEqual([next, old]);
    const body = '{"call":"c-9"}';
    const headers = signWebhook('msg_2', body, secrets, NOW);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(old).verify(body, { ...headers })).toEqual({ call: 'c-9' });
    expect(new Webhook(next).verify(body, { ...headers })).toEqual({ call: 'c-9' });
    expect(() => new Webhook(secret()).verify(body, { ...headers })).toThrow();
    // After the grace period only the new secret signs.
    expect(activeSecrets(signing, NOW + 3_600_001)).toEqual([next]);
  });

  it('says what is wrong with a bad secret', () => {
    expect(() => signingKey('abc')).toThrow('options.signing.secret must start with "whsec_"');
    expect(() => signingKey('whsec_***')).toThrow('followed by base64');
    expect(() => signingKey('whsec_AAAA')).toThrow('at least 16 bytes');
  });
});
