import { afterEach, describe, expect, it } from 'vitest';
import type { TestUser } from '../helpers/app.js';
import { DIALECTS } from '../helpers/store.js';
import { callEvent, createPipeline, type Pipeline } from '../helpers/pipeline.js';

const event = callEvent;

describe.each(DIALECTS)('call events in, deliveries out, on %s', (backend) => {
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });
  const post = (url: string, payload: unknown, who?: TestUser) => p!.post(url, payload, who);
  const setup = async (binding?: { on: string[]; statuses?: string[] }) => {
    p = await createPipeline(backend, binding === undefined ? {} : { binding });
    return p.integrationId;
  };
  const deliveries = () =>
    p!.t.store.store.db.selectFrom('deliveries').selectAll().orderBy('created_at').execute();

  it('stores an event and its delivery before answering 202, and accepts a repeated id once', async () => {
    await setup();
    const first = await post('/api/v1/events', event('ev-1'));
    expect(first.statusCode, first.body).toBe(202);
    expect(first.json()).toEqual({ accepted: ['ev-1'], duplicates: [], rejected: [] });
    expect(await deliveries()).toHaveLength(1);
    const again = await post('/api/v1/events', event('ev-1'));
    expect(again.json()).toEqual({ accepted: [], duplicates: ['ev-1'], rejected: [] });
    expect(await deliveries()).toHaveLength(1);
  });

  it('keeps the first copy of a repeated id, whatever the later ones hold, across campaigns of one owner', async () => {
    await setup();
    const autumn = await post('/api/v1/campaigns', { id: 'autumn', name: 'Autumn', type: 'voice' });
    expect(autumn.statusCode, autumn.body).toBe(201);
    const first = await post('/api/v1/events', {
      events: [event('ev-1'), event('ev-1', { call: { id: 'c-other', status: 'busy' } })],
    });
    expect(first.json()).toEqual({ accepted: ['ev-1'], duplicates: ['ev-1'], rejected: [] });
    const later = await post('/api/v1/events', {
      events: [event('ev-1', { campaignId: 'autumn', contact: { id: 'k', firstName: 'Bo' } })],
    });
    expect(later.json()).toEqual({ accepted: [], duplicates: ['ev-1'], rejected: [] });
    const rows = await p!.t.store.store.db.selectFrom('events').selectAll().execute();
    expect(rows.map((r) => [r.id, r.campaign_id, r.call_id])).toEqual([
      ['ev-1', 'spring', 'c-ev-1'],
    ]);
    expect(await deliveries()).toHaveLength(1);
  });

  it('stores every character of an event as sent, in a batch', async () => {
    await setup();
    // What array literals and VALUES lists must not mangle: quotes, backslashes, braces, commas,
    // the word NULL, empty strings, non-Latin text and an astral character.
    const tricky = ['"quoted" \\ back', '{a,b}', 'NULL', '', 'Ελληνικά עברית 日本語 😀', "it's"];
    const batch = tricky.map((name, i) =>
      event(`odd-${i}`, {
        call: {
          id: name === '' ? `c-${i}` : `${name}-${i}`,
          phone: '+15551234567',
          status: 'answered',
        },
        contact: { id: `k-${i}`, firstName: name, phone: '+15551234567' },
      }),
    );
    const res = await post('/api/v1/events', { events: batch });
    expect(res.statusCode, res.body).toBe(202);
    const rows = await p!.t.store.store.db
      .selectFrom('events')
      .select(['id', 'call_id', 'payload'])
      .where('id', 'like', 'odd-%')
      .orderBy('id')
      .execute();
    expect(
      rows.map(
        (r) => (JSON.parse(r.payload) as { contact: { firstName: string } }).contact.firstName,
      ),
    ).toEqual(tricky);
    expect(rows.map((r) => r.call_id)).toEqual(batch.map((e) => e.call.id));
    expect(await deliveries()).toHaveLength(tricky.length);
  });

  it('refuses half a UTF-16 pair or NUL in an id, keeps them elsewhere in the event as sent', async () => {
    await setup();
    const res = await post('/api/v1/events', {
      events: [
        event('lone-\ud800'),
        event('ok-1', { call: { id: 'call-\udc00', status: 'answered' } }),
        event('ok-2', { contact: { id: 'k', firstName: 'half \ud83d pair, NUL \u0000' } }),
        event('nul-\u0000'),
        event('ok-3', { campaignId: 'spring\u0000' }),
      ],
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toEqual({
      accepted: ['ok-2'],
      duplicates: [],
      rejected: [
        {
          id: 'lone-\ud800',
          index: 0,
          field: 'id',
          error: 'id must be well-formed Unicode (it holds half a UTF-16 pair)',
        },
        {
          id: 'ok-1',
          index: 1,
          field: 'call.id',
          error: 'call.id must be well-formed Unicode (it holds half a UTF-16 pair)',
        },
        { id: 'nul-\u0000', index: 3, field: 'id', error: 'id must not contain NUL (\\u0000)' },
        {
          id: 'ok-3',
          index: 4,
          field: 'campaignId',
          error: 'campaignId must not contain NUL (\\u0000)',
        },
      ],
    });
    const [row] = await p!.t.store.store.db.selectFrom('events').select('payload').execute();
    expect((JSON.parse(row!.payload) as { contact: { firstName: string } }).contact.firstName).toBe(
      'half \ud83d pair, NUL \u0000',
    );
    expect(await deliveries()).toHaveLength(1);
  });

  it('judges a batch event by event', async () => {
    await setup();
    const res = await post('/api/v1/events', {
      events: [
        event('a'),
        event('b', { type: 'call.exploded' }),
        event('c', { campaignId: 'nope' }),
        event('a'),
        { id: 'd' },
        event('e', { occurredAt: 'yesterday at noon' }),
        event('f', { call: { status: 'answered' } }),
      ],
    });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body.accepted).toEqual(['a', 'f']);
    expect(body.duplicates).toEqual(['a']);
    expect(body.rejected).toEqual([
      { id: 'b', index: 1, field: 'type', error: expect.stringContaining('type') },
      { id: 'c', index: 2, field: 'campaignId', error: 'unknown campaign nope' },
      {
        id: 'd',
        index: 4,
        field: expect.any(String),
        error: expect.stringContaining('is required'),
      },
      { id: 'e', index: 5, field: 'occurredAt', error: expect.stringContaining('RFC 3339') },
    ]);
  });

  it('says what is wrong with a batch entry that is not an object at all', async () => {
    await setup();
    const res = await post('/api/v1/events', {
      events: [5, null, 'ev-1', [event('x')], event('ok')],
    });
    expect(res.statusCode, res.body).toBe(202);
    const body = res.json();
    expect(body.accepted).toEqual(['ok']);
    expect(body.rejected).toEqual([
      { id: null, index: 0, error: 'an event must be a JSON object, not a number' },
      { id: null, index: 1, error: 'an event must be a JSON object, not null' },
      { id: null, index: 2, error: 'an event must be a JSON object, not a string' },
      { id: null, index: 3, error: 'an event must be a JSON object, not an array' },
    ]);
  });

  it('names every type a field takes when a value is of none of them', async () => {
    await setup();
    const res = await post('/api/v1/events', {
      events: [
        event('list', { contact: { id: 'k', custom: { plan: ['gold'] } } }),
        event('text', { call: { id: 'c', duration: '42' } }),
      ],
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json().rejected).toEqual([
      {
        id: 'list',
        index: 0,
        field: 'contact.custom.plan',
        error: 'contact.custom.plan must be string, number, boolean or null',
      },
      { id: 'text', index: 1, field: 'call.duration', error: 'call.duration must be number' },
    ]);
  });

  it('says a string over its length is too long, not of the wrong type', async () => {
    await setup();
    const long = 'x'.repeat(65_537);
    const res = await post('/api/v1/events', {
      events: [
        event('note', { contact: { id: 'k', note: long } }),
        event('plan', { contact: { id: 'k', custom: { plan: long } } }),
        event('fits', {
          contact: { id: 'k', note: long.slice(1), custom: { plan: long.slice(1) } },
        }),
      ],
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json().accepted).toEqual(['fits']);
    expect(res.json().rejected).toEqual([
      {
        id: 'note',
        index: 0,
        field: 'contact.note',
        error: 'contact.note must not have more than 65536 characters',
      },
      {
        id: 'plan',
        index: 1,
        field: 'contact.custom.plan',
        error: 'contact.custom.plan must not have more than 65536 characters',
      },
    ]);
  });

  it('refuses an IVR variable whose name a token cannot read, whatever its value', async () => {
    await setup();
    const res = await post('/api/v1/events', {
      events: [
        event('spaced', { ivr: { 'bad key': { deep: 1 } } }),
        event('digit', { ivr: { '1st': 'x' } }),
        event('fine', { ivr: { account: '0042', _pin: '1' } }),
      ],
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json().accepted).toEqual(['fine']);
    expect(res.json().rejected).toEqual([
      {
        id: 'spaced',
        index: 0,
        field: 'ivr.bad key',
        error: expect.stringMatching(/^ivr\.bad key must be string/) as string,
      },
      {
        id: 'digit',
        index: 1,
        field: 'ivr.1st',
        error: 'ivr.1st must match pattern "^[A-Za-z_][A-Za-z0-9_]*$"',
      },
    ]);
  });

  it('rejects an event nested too deep to store, and keeps the rest of its batch', async () => {
    await setup();
    // 6,000 nested arrays (12 KB): JSON.stringify overflowed the stack, a 500 for the batch.
    // Sent as text: the test's own JSON.stringify would overflow too.
    const nested = `${'['.repeat(6000)}${']'.repeat(6000)}`;
    const deep = JSON.stringify(
      event('deep', { call: { id: 'c-deep', status: 'answered', extra: 'NESTED' } }),
    ).replace('"NESTED"', nested);
    const fine = JSON.stringify(
      event('fine', { call: { id: 'c-fine', status: 'answered', extra: { a: { b: [[1]] } } } }),
    );
    const send = (payload: string) =>
      p!.t.app.inject({
        method: 'POST',
        url: '/api/v1/events',
        headers: { ...p!.dialer.headers, 'content-type': 'application/json' },
        payload,
      });
    const res = await send(`{"events": [${fine}, ${deep}]}`);
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({
      accepted: ['fine'],
      rejected: [
        {
          id: 'deep',
          index: 1,
          field: 'call',
          error: 'call nests objects or arrays deeper than 64 levels',
        },
      ],
    });
    const single = await send(deep);
    expect(single.statusCode).toBe(400);
    expect(single.json().error.details).toEqual([expect.objectContaining({ field: 'body.call' })]);
  });

  it('refuses an occurredAt that is not on the calendar or the clock, naming the field', async () => {
    await setup();
    // Date.parse rolls these over (2026-02-30 is March 2, T24:00 the next day).
    const at = {
      feb30: '2026-02-30T10:00:00Z',
      feb29: '2026-02-29T10:00:00Z',
      apr31: '2026-04-31T10:00:00+02:00',
      day00: '2026-01-00T10:00:00Z',
      month13: '2026-13-01T10:00:00Z',
      hour24: '2026-01-01T24:00:00Z',
      offset24: '2026-01-01T10:00:00+24:00',
      leapDay: '2024-02-29T10:00:00Z',
      leap2000: '2000-02-29T23:59:59.999-05:30',
    };
    const res = await post('/api/v1/events', {
      events: Object.entries(at).map(([id, occurredAt]) => event(id, { occurredAt })),
    });
    expect(res.statusCode, res.body).toBe(202);
    const body = res.json();
    expect(body.accepted).toEqual(['leapDay', 'leap2000']);
    const rejection = (index: number, error: string) => ({
      id: Object.keys(at)[index],
      index,
      field: 'occurredAt',
      error: `occurredAt ${error}`,
    });
    expect(body.rejected).toEqual([
      rejection(0, 'has no day 30 in 2026-02: that month has 28 days'),
      rejection(1, 'has no day 29 in 2026-02: that month has 28 days'),
      rejection(2, 'has no day 31 in 2026-04: that month has 30 days'),
      rejection(3, 'has no day 00 in 2026-01: that month has 31 days'),
      rejection(4, 'has no month 13: months run from 01 to 12'),
      rejection(5, 'has no hour 24: hours run from 00 to 23'),
      rejection(6, 'has no UTC offset +24:00: offsets run from -23:59 to +23:59'),
    ]);
    const stored = await p!.t.store.store.db
      .selectFrom('events')
      .select(['id', 'occurred_at'])
      .orderBy('id')
      .execute();
    expect(stored.map((e) => [e.id, Number(e.occurred_at)])).toEqual([
      ['leap2000', Date.UTC(2000, 1, 29, 23, 59, 59, 999) + 5.5 * 3_600_000],
      ['leapDay', Date.UTC(2024, 1, 29, 10)],
    ]);
  });

  it('reads the lower-case t and z RFC 3339 allows in occurredAt', async () => {
    await setup();
    const res = await post('/api/v1/events', {
      events: [
        event('lower', { occurredAt: '2026-11-27t10:00:00z' }),
        event('offset', { occurredAt: '2026-11-27t11:30:00.250+01:30' }),
      ],
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toEqual({ accepted: ['lower', 'offset'], duplicates: [], rejected: [] });
    const stored = await p!.t.store.store.db
      .selectFrom('events')
      .select(['id', 'occurred_at', 'payload'])
      .orderBy('id')
      .execute();
    expect(stored.map((e) => [e.id, Number(e.occurred_at)])).toEqual([
      ['lower', Date.UTC(2026, 10, 27, 10)],
      ['offset', Date.UTC(2026, 10, 27, 10, 0, 0, 250)],
    ]);
    // Stored as sent: `{{event.occurredAt}}` reads what the dialer wrote.
    expect(JSON.parse(stored[0]!.payload)).toMatchObject({ occurredAt: '2026-11-27t10:00:00z' });
  });

  it('refuses what is not an event or a batch, a batch over 1,000 and a body over 10 MiB', async () => {
    await setup();
    expect((await post('/api/v1/events', { hello: 'world' })).statusCode).toBe(400);
    expect((await post('/api/v1/events', [1, 2])).statusCode).toBe(400);
    for (const [events, kind] of [
      ['ev-1', 'a string'],
      [{ 0: event('a') }, 'an object'],
      [null, 'null'],
    ] as const) {
      const notAList = await post('/api/v1/events', { events });
      expect(notAList.statusCode, notAList.body).toBe(400);
      expect(notAList.json().error.details).toEqual([
        { field: 'body.events', message: `must be an array of events, not ${kind}` },
      ]);
    }
    const tooMany = await post('/api/v1/events', {
      events: Array.from({ length: 1001 }, (_, i) => event(`x${i}`)),
    });
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().error.details).toEqual([
      { field: 'body.events', message: 'has 1001 events; at most 1000' },
    ]);
    const big = await post('/api/v1/events', {
      events: [event('big', { contact: { note: 'x'.repeat(11 * 1024 * 1024) } })],
    });
    expect(big.statusCode).toBe(413);
    // Other routes keep the 1 MiB limit.
    const bigIntegration = await post('/api/v1/integrations', {
      name: 'x',
      type: 'http',
      config: { url: 'https://a.example', body: 'x'.repeat(1_100_000) },
    });
    expect(bigIntegration.statusCode).toBe(413);
    const single = await post('/api/v1/events', event('s', { type: 'nope' }));
    expect(single.statusCode).toBe(400);
    expect(single.json().error.details[0].field).toBe('body.type');
  });

  it('counts a single event answered 400 as rejected on /metrics, as a rejected event of a batch', async () => {
    await setup();
    const single = await post(
      '/api/v1/events',
      event('bad-1', { occurredAt: '2026-02-30T10:00:00Z' }),
    );
    expect(single.statusCode, single.body).toBe(400);
    const batch = await post('/api/v1/events', {
      events: [event('ok-1'), event('bad-2', { campaignId: 'unknown' })],
    });
    expect(batch.statusCode, batch.body).toBe(202);
    const metrics = (await p!.t.app.inject('/metrics')).body;
    expect(metrics).toMatch(/^callhook_events_ingested_total\{result="accepted"\} 1$/m);
    expect(metrics).toMatch(/^callhook_events_ingested_total\{result="rejected"\} 2$/m);
  });

  it("accepts events only for the caller's campaigns", async () => {
    await setup();
    const other = await p!.t.user({ grants: ['event_ingest'] });
    const res = await post('/api/v1/events', { events: [event('z')] }, other);
    expect(res.json().rejected).toEqual([
      { id: 'z', index: 0, field: 'campaignId', error: 'unknown campaign spring' },
    ]);
    const admin = await p!.t.user({ admin: true });
    expect((await post('/api/v1/events', { events: [event('z')] }, admin)).json().accepted).toEqual(
      ['z'],
    );
  });

  it('makes deliveries only for bound event types and statuses, and none for a disabled integration', async () => {
    const integrationId = await setup({ on: ['call.ended'], statuses: ['answered'] });
    await post('/api/v1/events', {
      events: [
        event('ended-answered'),
        event('ended-busy', { call: { id: 'c2', status: 'busy' } }),
        event('answered', { type: 'call.answered' }),
      ],
    });
    expect((await deliveries()).map((d) => d.event_id)).toEqual(['ended-answered']);
    await p!.t.app.inject({
      method: 'PATCH',
      url: `/api/v1/integrations/${integrationId}`,
      headers: p!.dialer.headers,
      payload: { enabled: false },
    });
    await post('/api/v1/events', event('while-disabled'));
    expect(await deliveries()).toHaveLength(1);
  });

  it('delivers the rendered request with an Idempotency-Key, and records the attempt', async () => {
    await setup();
    await post('/api/v1/events', event('ev-9'));
    const w = p!.worker();
    expect(await w.runOnce()).toBe(1);
    expect(p!.received).toHaveLength(1);
    const [request] = p!.received;
    expect(request!.url).toBe('/calls?phone=%2B15551234567');
    expect(JSON.parse(request!.body)).toEqual({
      status: 'answered',
      plan: 'gold',
      campaign: 'Spring',
    });
    const [delivery] = await deliveries();
    expect(request!.headers['idempotency-key']).toBe(delivery!.id);
    expect(delivery).toMatchObject({ status: 'succeeded', attempts: 1, last_status: 200 });
    const attempts = await p!.t.store.store.db.selectFrom('attempts').selectAll().execute();
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ attempt: 1, integration_version: 1, outcome: 'succeeded' });
    expect(JSON.parse(attempts[0]!.request)).toMatchObject({
      method: 'POST',
      url: `${p!.server.origin}/calls?phone=%2B15551234567`,
    });
  });

  it("renders {{call.campaignId}} from the event's campaignId, or the call's own", async () => {
    const id = await setup();
    const patched = await p!.t.app.inject({
      method: 'PATCH',
      url: `/api/v1/integrations/${id}`,
      headers: p!.dialer.headers,
      payload: { config: { url: `${p!.server.origin}/calls?campaign={{call.campaignId}}` } },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    const own = event('ev-own');
    await post('/api/v1/events', {
      events: [event('ev-top'), { ...own, call: { ...own.call, campaignId: 'as-dialed' } }],
    });
    expect(await p!.worker().runOnce()).toBe(2);
    expect(p!.received.map((r) => r.url).sort()).toEqual([
      '/calls?campaign=as-dialed',
      '/calls?campaign=spring',
    ]);
  });
});
