/**
 * The dashboard's queue history (src/store/queue-history.ts, the `queue` of
 * `GET /api/v1/activity`): once a minute one process of the deployment stores the queue's figures,
 * the first to look in that minute; the route answers them oldest first, the same for every user.
 * A failing store is logged once, not at every look.
 */
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { QueueSampler } from '../../src/store/queue-history.js';
import { DIALECTS } from '../helpers/store.js';
import { callEvent, createPipeline, type Pipeline } from '../helpers/pipeline.js';

const MINUTE = 60_000;

interface QueueItem {
  minute: string;
  pending: number;
  oldestPendingAgeSeconds: number;
  openCircuits: number;
}

describe.each(DIALECTS)('queue history per minute on %s', (backend) => {
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  const thisMinute = () => Date.now() - (Date.now() % MINUTE);
  const queueOf = async (pipeline: Pipeline, minutes = 60, who = pipeline.dialer) => {
    const res = await pipeline.get(`/api/v1/activity?minutes=${minutes}`, who);
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ queue: QueueItem[] }>().queue;
  };

  it('stores one sample a minute, by the first process to look, and answers it to every user', async () => {
    p = await createPipeline(backend);
    for (const id of ['ev-1', 'ev-2', 'ev-3']) {
      const res = await p.post('/api/v1/events', callEvent(id, { call: { id: `c-${id}` } }));
      expect(res.statusCode, res.body).toBe(202);
    }
    const db = p.t.store.store.db;
    const earlier = thisMinute() - 10 * MINUTE;
    let at = earlier + 20_000;
    const one = new QueueSampler(db, { clock: () => at });
    const two = new QueueSampler(db, { clock: () => at });
    expect(await one.sample()).toBe(true);
    at += 15_000;
    expect(await two.sample()).toBe(false);
    expect(await one.sample()).toBe(false);

    // A delivery done, and the next minute's look: the next minute's sample.
    await p.worker().runOnce();
    expect(p.received).toHaveLength(3);
    const later = thisMinute() - MINUTE;
    at = later + 5_000;
    expect(await two.sample()).toBe(true);

    const expected = [
      {
        minute: new Date(earlier).toISOString(),
        pending: 3,
        // The deliveries were due when stored, just now: the clock of the sample is 10 min older.
        oldestPendingAgeSeconds: 0,
        openCircuits: 0,
      },
      {
        minute: new Date(later).toISOString(),
        pending: 0,
        oldestPendingAgeSeconds: 0,
        openCircuits: 0,
      },
    ];
    expect(await queueOf(p)).toEqual(expected);
    expect(await db.selectFrom('queue_samples').select('minute').execute()).toHaveLength(2);
    // The deployment's queue, as on /metrics: a user with no deliveries sees the same figures.
    const bob = await p.t.user({ grants: ['integration'] });
    expect(await queueOf(p, 60, bob)).toEqual(expected);
    // `minutes` counts back from the current minute: 5 hold the later sample only.
    expect(await queueOf(p, 5)).toEqual([expected[1]]);
  });

  it('reads how long the oldest due delivery has waited', async () => {
    p = await createPipeline(backend);
    const res = await p.post('/api/v1/events', callEvent('ev-1'));
    expect(res.statusCode, res.body).toBe(202);
    const db = p.t.store.store.db;
    const sampler = new QueueSampler(db, { clock: () => Date.now() + 90_000 });
    expect(await sampler.sample()).toBe(true);
    const [sample] = await queueOf(p, 60);
    expect(sample?.pending).toBe(1);
    expect(sample?.oldestPendingAgeSeconds).toBeGreaterThanOrEqual(89);
    expect(sample?.oldestPendingAgeSeconds).toBeLessThan(120);
  });

  it('logs a store that fails once, and again when it works', async () => {
    p = await createPipeline(backend);
    const db = p.t.store.store.db;
    const lines: { level: number; msg: string }[] = [];
    const logger = createLogger(
      'info',
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
          done();
        },
      }),
    );
    let at = thisMinute() - 5 * MINUTE;
    const sampler = new QueueSampler(db, { logger, clock: () => at });
    await sql`alter table queue_samples rename to queue_samples_away`.execute(db);
    // start() looks at once; stop() waits for that look.
    sampler.start();
    await sampler.stop();
    at += MINUTE;
    sampler.start();
    await sampler.stop();
    expect(lines.map((l) => l.msg)).toEqual(['sampling the queue for the dashboard failed']);
    await expect(sampler.sample()).rejects.toThrow(/queue_samples/);

    await sql`alter table queue_samples_away rename to queue_samples`.execute(db);
    sampler.start();
    await sampler.stop();
    expect(lines.map((l) => l.msg)).toEqual([
      'sampling the queue for the dashboard failed',
      'sampling the queue for the dashboard works again',
    ]);
    expect(await queueOf(p)).toHaveLength(1);
  });
});
