/**
 * The IVR's `variables` arrive in templates as sent: a JSON number, boolean or null is not turned
 * into a string by request validation (Fastify's ajv coerces types, and a union that starts with
 * string took every scalar as a string), and a string that looks like a number stays a string.
 * Variable names are at most 100 characters: a longer one is a 400 naming it.
 */
import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { readRequest } from '../transport/servers.js';
import { useIvrAppWithServer } from './ivr-app.js';

describe.each(DIALECTS)('IVR invoke variables on %s', (backend) => {
  const bodies: string[] = [];

  const ivr = useIvrAppWithServer(backend, async (req, res) => {
    bodies.push(await readRequest(req));
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });

  it('renders numbers, booleans and null as themselves with | json, strings as strings', async () => {
    const id = await ivr.t.create(ivr.alice.headers, {
      config: {
        method: 'POST',
        url: `${ivr.server.origin}/lookup`,
        headers: 'Content-Type: application/json',
        body: '{"amount": {{ivr.amount | json}}, "ratio": {{ivr.ratio | json}}, "ok": {{ivr.ok | json}}, "none": {{ivr.none | json}}, "code": {{ivr.code | json}}, "yes": {{ivr.yes | json}}}',
      },
    });
    const { statusCode, answer, body } = await ivr.t.invoke(ivr.alice.headers, id, {
      variables: { amount: 42, ratio: 0.5, ok: true, none: null, code: '0042', yes: 'true' },
    });
    expect(statusCode, body).toBe(200);
    expect(answer.outcome).toBe('success');
    expect(JSON.parse(bodies.at(-1)!)).toEqual({
      amount: 42,
      ratio: 0.5,
      ok: true,
      none: null,
      code: '0042',
      yes: 'true',
    });
  });

  it('answers 400 naming a variable whose name is longer than 100 characters', async () => {
    const id = await ivr.t.create(ivr.alice.headers, {
      config: { method: 'GET', url: `${ivr.server.origin}/lookup` },
    });
    const asked = bodies.length;
    const fits = await ivr.t.invoke(ivr.alice.headers, id, {
      variables: { ['a'.repeat(100)]: 'x' },
    });
    expect(fits.statusCode, fits.body).toBe(200);
    const long = 'b'.repeat(101);
    const res = await ivr.t.invoke(ivr.alice.headers, id, { variables: { ok: 1, [long]: 'x' } });
    expect(res.statusCode, res.body).toBe(400);
    const error = (JSON.parse(res.body) as { error: { code: string; details: object[] } }).error;
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details).toEqual([
      { field: `body.variables.${long}`, message: 'must NOT have more than 100 characters' },
    ]);
    expect(bodies.length).toBe(asked + 1);
  });

  it('answers 400 naming a variable whose value is an object', async () => {
    const id = await ivr.t.create(ivr.alice.headers, {
      config: { method: 'GET', url: `${ivr.server.origin}/lookup` },
    });
    const res = await ivr.t.invoke(ivr.alice.headers, id, { variables: { account: { id: 1 } } });
    expect(res.statusCode, res.body).toBe(400);
    const error = (JSON.parse(res.body) as { error: { details: { field: string }[] } }).error;
    expect(error.details.map((d) => d.field)).toContain('body.variables.account');
  });
});
