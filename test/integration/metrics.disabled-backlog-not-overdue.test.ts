/**
 * A disabled integration's pending deliveries wait for its owner, by design: `/metrics` counts
 * them in `callhook_queue_depth` and in `callhook_queue_held`, and leaves them out of
 * `callhook_queue_oldest_pending_age_seconds`, which an alert on would otherwise fire for as long
 * as the integration stays off.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { callEvent, createPipeline, type Pipeline } from '../helpers/pipeline.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(DIALECTS)('the queue gauges and a disabled integration on %s', (backend) => {
  let p: Pipeline | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  const gauges = async () => {
    const text = (await p!.t.app.inject('/metrics')).body;
    const value = (name: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${name} `));
      return line === undefined ? undefined : Number(line.slice(name.length + 1));
    };
    return {
      depth: value('callhook_queue_depth'),
      held: value('callhook_queue_held'),
      oldest: value('callhook_queue_oldest_pending_age_seconds'),
    };
  };
  const setEnabled = async (enabled: boolean) => {
    const res = await p!.t.app.inject({
      method: 'PATCH',
      url: `/api/v1/integrations/${p!.integrationId}`,
      headers: p!.dialer.headers,
      payload: { enabled },
    });
    expect(res.statusCode, res.body).toBe(200);
  };

  it('counts its backlog in the depth and as held, not in the oldest pending age', async () => {
    p = await createPipeline(backend);
    const accepted = await p.post('/api/v1/events', {
      events: [callEvent('ev-1'), callEvent('ev-2')],
    });
    expect(accepted.statusCode, accepted.body).toBe(202);
    await sleep(50);
    const waiting = await gauges();
    expect(waiting.oldest).toBeGreaterThanOrEqual(0.05);
    expect(waiting.depth).toBe(2);

    await setEnabled(false);
    await sleep(50);
    const off = await gauges();
    expect(off.oldest, 'oldest pending age of what could go').toBe(0);
    expect(off).toEqual({ depth: 2, held: 2, oldest: 0 });
    expect(waiting.held).toBe(0);
    // No worker takes them meanwhile.
    expect(await p.worker().runOnce()).toBe(0);

    // Enabled again: they are due, aged from when they were stored, and go.
    await setEnabled(true);
    const due = await gauges();
    expect(due).toMatchObject({ depth: 2, held: 0 });
    expect(due.oldest).toBeGreaterThanOrEqual(0.1);
    expect(await p.worker().runOnce()).toBe(2);
    expect(await gauges()).toEqual({ depth: 0, held: 0, oldest: 0 });
    expect(p.received).toHaveLength(2);
  });
});
