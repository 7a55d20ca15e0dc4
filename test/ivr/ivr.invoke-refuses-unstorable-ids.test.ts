/**
 * `contact.id` and `campaign.id` of an invocation are stored in columns of their own in the IVR
 * log. PostgreSQL text cannot hold NUL: one such id failed the insert of the whole batch of log
 * rows it was written with. Half a UTF-16 pair has no UTF-8 form. Both are refused with a 400
 * naming the field, as the events route refuses them, on either backend. A NUL the remote sent,
 * quoted in the invocation's reason, is logged as `\u0000`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { startServer, type TestServer } from '../transport/servers.js';
import { createIvrTestApp, type IvrTestApp } from './ivr-app.js';

describe.each(DIALECTS)('IVR invoke ids the log cannot store on %s', (backend) => {
  let t: IvrTestApp;
  let server: TestServer;
  let alice: { id: string; headers: { authorization: string } };
  let id: string;

  beforeAll(async () => {
    t = await createIvrTestApp(backend);
    alice = await t.user();
    server = await startServer((req, res) => {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(req.url === '/nul' ? '\u0000{"balance": "1.00"}' : '{"balance": "1.00"}');
    });
    id = await t.create(alice.headers, {
      config: { method: 'GET', url: `${server.origin}/lookup` },
      options: { responseVariables: [{ name: 'balance', path: 'balance' }] },
    });
  });

  afterAll(async () => {
    await t?.close();
    await server?.close();
  });

  it.each([
    ['contact', 'k-\u00001', 'must not contain NUL (\\u0000)'],
    ['campaign', 'camp-\u00001', 'must not contain NUL (\\u0000)'],
    ['contact', 'k-\uD800', 'must be well-formed Unicode (it holds half a UTF-16 pair)'],
    ['campaign', 'camp-\uDC00', 'must be well-formed Unicode (it holds half a UTF-16 pair)'],
  ])('refuses %s.id %j with a 400 naming the field', async (group, bad, message) => {
    // A valid invocation next to the bad one: it must be logged (before, on PostgreSQL, the bad
    // one's row failed the batch they were written in, and both were lost).
    const [good, res] = await Promise.all([
      t.invoke(alice.headers, id, { contact: { id: 'k-ok' }, campaign: { id: 'camp-ok' } }),
      t.invoke(alice.headers, id, { [group]: { id: bad } }),
    ]);
    expect(res.statusCode, res.body).toBe(400);
    expect(JSON.parse(res.body)).toEqual({
      error: {
        code: 'VALIDATION_FAILED',
        message: expect.any(String),
        details: [{ field: `body.${group}.id`, message }],
      },
    });
    expect(good.statusCode, good.body).toBe(200);
    const { delivery } = await t.logged(good.answer.deliveryId);
    expect(delivery).toMatchObject({ contact_id: 'k-ok', campaign_id: 'camp-ok' });
  });

  it('still accepts ids with other characters, and numeric ids (logged as they render)', async () => {
    const { statusCode, answer, body } = await t.invoke(alice.headers, id, {
      contact: { id: 'k-\u00e9\u{1F600}\t' },
      campaign: { id: 42 },
    });
    expect(statusCode, body).toBe(200);
    const { delivery } = await t.logged(answer.deliveryId);
    expect(delivery).toMatchObject({ contact_id: 'k-\u00e9\u{1F600}\t', campaign_id: '42' });
  });

  it("logs an invocation whose reason quotes a remote's NUL, and the batch it is written with", async () => {
    // JSON.parse's message quotes the body: the reason held a raw NUL, which PostgreSQL refused
    // (with every other row of the batch).
    const nul = await t.create(alice.headers, {
      config: { method: 'GET', url: `${server.origin}/nul` },
      options: { responseVariables: [{ name: 'balance', path: 'balance', default: '0' }] },
    });
    const [bad, good] = await Promise.all([
      t.invoke(alice.headers, nul, { contact: { id: 'k-nul' } }),
      t.invoke(alice.headers, id, { contact: { id: 'k-ok' } }),
    ]);
    expect(bad.answer).toMatchObject({ outcome: 'success', variables: { balance: '0' } });
    expect(bad.answer.reason).toMatch(/^the body is not valid JSON: .*\u0000/);
    const logged = await t.logged(bad.answer.deliveryId);
    expect(logged.delivery['last_error']).toMatch(/^the body is not valid JSON: .*\\u0000/);
    expect(logged.attempts[0]!['error']).toMatch(/^success: the body is not valid JSON: .*\\u0000/);
    expect(JSON.parse(logged.attempts[0]!['response'] as string)).toMatchObject({
      body: '\u0000{"balance": "1.00"}',
    });
    expect((await t.logged(good.answer.deliveryId)).delivery).toMatchObject({ contact_id: 'k-ok' });
  });
});
