/**
 * The dashboard's activity (src/store/activity-store.ts, `GET /api/v1/activity`): every process
 * adds its counts per minute and owner to rows of its own, and the route sums them over processes
 * per minute, oldest first, each user seeing their own (an admin every owner's). A flush that
 * fails keeps its counts for the next one. (Old rows are pruned with the rest of the history:
 * retention.prune.test.ts.)
 */
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { DIALECTS } from '../helpers/store.js';
import { callEvent, createPipeline, type Pipeline } from '../helpers/pipeline.js';
import { ActivityRecorder, MAX_UNWRITTEN_MINUTES } from '../../src/store/activity-store.js';
import { createLogger } from '../../src/logger.js';

const MINUTE = 60_000;

interface Item {
  minute: string;
  succeeded: number;
  failed: number;
  retried: number;
  events: number;
}

describe.each(DIALECTS)('delivery activity per minute on %s', (backend) => {
  let t: TestApp | undefined;
  let p: Pipeline | undefined;
  afterEach(async () => {
    await t?.close();
    await p?.close();
    t = undefined;
    p = undefined;
  });

  const thisMinute = () => Date.now() - (Date.now() % MINUTE);
  const recorder = (app: TestApp, processId: string, clock: () => number) =>
    new ActivityRecorder(app.store.store.db, { processId, clock });
  const read = async (
    app: TestApp,
    headers: TestUser['headers'],
    minutes = 60,
  ): Promise<Item[]> => {
    const res = await app.app.inject({ url: `/api/v1/activity?minutes=${minutes}`, headers });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ items: Item[] }>().items;
  };

  it('sums two processes per minute, oldest first', async () => {
    t = await createTestApp(backend);
    const alice = await t.user({ grants: ['integration'] });
    const earlier = thisMinute() - 10 * MINUTE;
    const later = thisMinute() - MINUTE;
    let at = earlier + 5_000;
    const one = recorder(t, 'process-1', () => at);
    const two = recorder(t, 'process-2', () => at);
    one.noteDelivery(alice.id, 'succeeded');
    one.noteDelivery(alice.id, 'succeeded');
    two.noteDelivery(alice.id, 'failed');
    two.noteEvents(alice.id, 3);
    at = later + 1_000;
    one.noteDelivery(alice.id, 'retry');
    two.noteDelivery(alice.id, 'succeeded');
    expect(await one.flush()).toBe(true);
    expect(await two.flush()).toBe(true);
    // A second flush of one minute adds to its row.
    one.noteDelivery(alice.id, 'succeeded');
    expect(await one.flush()).toBe(true);

    expect(await read(t, alice.headers)).toEqual([
      {
        minute: new Date(earlier).toISOString(),
        succeeded: 2,
        failed: 1,
        retried: 0,
        events: 3,
      },
      { minute: new Date(later).toISOString(), succeeded: 2, failed: 0, retried: 1, events: 0 },
    ]);
    const rows = await t.store.store.db.selectFrom('activity').selectAll().execute();
    expect(rows).toHaveLength(4);
    // `minutes` counts back from the current minute: 5 hold the later one, not the earlier.
    expect((await read(t, alice.headers, 5)).map((i) => i.minute)).toEqual([
      new Date(later).toISOString(),
    ]);
  });

  it('writes what is left when stopped', async () => {
    t = await createTestApp(backend);
    const alice = await t.user({ grants: ['integration'] });
    const minute = thisMinute() - MINUTE;
    const one = recorder(t, 'process-1', () => minute);
    one.start();
    one.noteEvents(alice.id, 4);
    await one.stop();
    expect(await read(t, alice.headers)).toEqual([
      { minute: new Date(minute).toISOString(), succeeded: 0, failed: 0, retried: 0, events: 4 },
    ]);
  });

  it("shows a user their own counts only, an admin everyone's", async () => {
    t = await createTestApp(backend);
    const alice = await t.user({ grants: ['integration'] });
    const bob = await t.user({ grants: ['integration'] });
    const admin = await t.user({ admin: true });
    const minute = thisMinute() - MINUTE;
    const one = recorder(t, 'process-1', () => minute);
    one.noteDelivery(alice.id, 'succeeded');
    one.noteDelivery(bob.id, 'failed');
    one.noteDelivery(bob.id, 'failed');
    expect(await one.flush()).toBe(true);

    const at = new Date(minute).toISOString();
    expect(await read(t, alice.headers)).toEqual([
      { minute: at, succeeded: 1, failed: 0, retried: 0, events: 0 },
    ]);
    expect(await read(t, bob.headers)).toEqual([
      { minute: at, succeeded: 0, failed: 2, retried: 0, events: 0 },
    ]);
    expect(await read(t, admin.headers)).toEqual([
      { minute: at, succeeded: 1, failed: 2, retried: 0, events: 0 },
    ]);
  });

  it('refuses minutes out of 1–1440, naming the field', async () => {
    t = await createTestApp(backend);
    const alice = await t.user({ grants: ['integration'] });
    for (const minutes of ['0', '1441', 'x']) {
      const res = await t.app.inject({
        url: `/api/v1/activity?minutes=${minutes}`,
        headers: alice.headers,
      });
      expect(res.statusCode, minutes).toBe(400);
      expect(res.json().error).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: [{ field: 'querystring.minutes' }],
      });
    }
    expect(await read(t, alice.headers, 1440)).toEqual([]);
  });

  it('keeps the counts of a flush that failed for the next one', async () => {
    t = await createTestApp(backend);
    const alice = await t.user({ grants: ['integration'] });
    const minute = thisMinute() - MINUTE;
    const one = recorder(t, 'process-1', () => minute + 1_000);
    const db = t.store.store.db;
    one.noteDelivery(alice.id, 'succeeded');
    one.noteEvents(alice.id, 2);
    await sql`alter table activity rename to activity_away`.execute(db);
    expect(await one.flush()).toBe(false);
    await sql`alter table activity_away rename to activity`.execute(db);
    one.noteDelivery(alice.id, 'succeeded');
    expect(await one.flush()).toBe(true);
    expect(await read(t, alice.headers)).toEqual([
      {
        minute: new Date(minute).toISOString(),
        succeeded: 2,
        failed: 0,
        retried: 0,
        events: 2,
      },
    ]);
  });

  it('keeps the newest minutes only while its flushes keep failing, warning once', async () => {
    t = await createTestApp(backend);
    const alice = await t.user({ grants: ['integration'] });
    const lines: { msg: string }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as { msg: string });
        done();
      },
    });
    const minutes = MAX_UNWRITTEN_MINUTES + 5;
    const first = thisMinute() - minutes * MINUTE;
    let at = first;
    const one = new ActivityRecorder(t.store.store.db, {
      processId: 'process-1',
      clock: () => at,
      logger: createLogger('warn', sink),
    });
    const db = t.store.store.db;
    await sql`alter table activity rename to activity_away`.execute(db);
    for (let i = 0; i < minutes; i += 1) {
      at = first + i * MINUTE + 1_000;
      one.noteDelivery(alice.id, 'succeeded');
      expect(await one.flush()).toBe(false);
    }
    await sql`alter table activity_away rename to activity`.execute(db);
    expect(await one.flush()).toBe(true);

    const items = await read(t, alice.headers, 1440);
    expect(items).toHaveLength(MAX_UNWRITTEN_MINUTES);
    expect(items[0]!.minute).toBe(new Date(first + 5 * MINUTE).toISOString());
    expect(items.at(-1)!.minute).toBe(new Date(first + (minutes - 1) * MINUTE).toISOString());
    expect(lines.filter((l) => /oldest minutes are dropped/.test(l.msg))).toHaveLength(1);
  });

  it("counts the worker's deliveries and the accepted events of the process's recorder", async () => {
    p = await createPipeline(backend, { integrationOptions: { retry: { maxAttempts: 2 } } });
    // The integration's body carries the call's status: each status gets its own answer.
    const answers: Record<string, number> = { answered: 200, busy: 404, failed: 503 };
    p.respond = (res, request) => {
      const status = /"status": "([^"]+)"/.exec(request.body)?.[1] ?? '';
      res.writeHead(answers[status] ?? 500).end();
    };
    const byStatus = { answered: 'ev-ok', busy: 'ev-gone', failed: 'ev-busy' };
    for (const [status, id] of Object.entries(byStatus)) {
      const res = await p.post(
        '/api/v1/events',
        callEvent(id, { call: { id: `c-${id}`, status } }),
      );
      expect(res.statusCode, res.body).toBe(202);
    }
    // An event already stored is not counted again.
    expect((await p.post('/api/v1/events', callEvent('ev-ok'))).json().duplicates).toEqual([
      'ev-ok',
    ]);
    await p.worker().runOnce();
    expect(p.received).toHaveLength(3);
    expect(await p.t.services.activity.flush()).toBe(true);
    const res = await p.get('/api/v1/activity');
    expect(res.statusCode, res.body).toBe(200);
    const items = res.json<{ items: Item[] }>().items;
    const sum = (field: keyof Omit<Item, 'minute'>) =>
      items.reduce((total, item) => total + item[field], 0);
    expect({
      succeeded: sum('succeeded'),
      failed: sum('failed'),
      retried: sum('retried'),
      events: sum('events'),
    }).toEqual({ succeeded: 1, failed: 1, retried: 1, events: 3 });
  });
});
