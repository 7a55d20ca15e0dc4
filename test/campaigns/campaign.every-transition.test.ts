/**
 * The state machine of an integration campaign, every action from every state: the documented
 * move, "already there" (200, nothing changes), or 409 CONFLICT naming the state and why. Then
 * what a campaign's state allows of its settings, its deletion, and who may do any of it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { createCampaignRig, until, type Rig } from './campaign-fixtures.js';

type Action = 'start' | 'pause' | 'resume' | 'stop';
type State = 'idle' | 'running' | 'paused' | 'stopped' | 'completed';

/** For each state and action: the state it answers 200 with, or the reason of its 409. */
const TABLE: Record<State, Record<Action, State | { refused: string }>> = {
  idle: {
    start: 'running',
    pause: { refused: 'is idle: it has not started' },
    resume: { refused: 'is idle: it has not started: start it' },
    stop: { refused: 'is idle: it has not started: delete it instead' },
  },
  running: { start: 'running', pause: 'paused', resume: 'running', stop: 'stopped' },
  paused: {
    start: { refused: 'is paused: resume it to go on' },
    pause: 'paused',
    resume: 'running',
    stop: 'stopped',
  },
  stopped: {
    start: {
      refused: 'is stopped: a stopped campaign does not start again; create a new campaign',
    },
    pause: { refused: 'is stopped: a stopped campaign does not run again' },
    resume: {
      refused: 'is stopped: a stopped campaign does not run again; create a new campaign',
    },
    stop: 'stopped',
  },
  completed: {
    start: {
      refused: 'is completed: every contact has a result; create a new campaign to send again',
    },
    pause: { refused: 'is completed: every contact has a result' },
    resume: { refused: 'is completed: every contact has a result' },
    stop: { refused: 'is completed: every contact has a result' },
  },
};

interface ErrorAnswer {
  error: { code: string; message: string; details?: unknown };
}

describe.each(DIALECTS)('integration campaign states on %s', (backend) => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  /** A campaign brought to `state` the way a user would (a completed one really sent its contact). */
  const campaignIn = async (r: Rig, state: State, listId: string): Promise<string> => {
    const id = await r.campaign(listId, 50);
    if (state === 'idle') return id;
    await r.act(id, 'start');
    if (state === 'paused') await r.act(id, 'pause');
    if (state === 'stopped') await r.act(id, 'stop');
    if (state === 'completed') {
      r.startWorkers();
      await until(async () => (await r.read(id)).state === 'completed', 10_000, 'completion');
      await r.stopWorkers();
    }
    return id;
  };

  it('answers every action from every state as documented', async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    const listId = await r.list(2);
    for (const [state, actions] of Object.entries(TABLE) as [State, (typeof TABLE)[State]][]) {
      for (const [action, expected] of Object.entries(actions) as [
        Action,
        State | { refused: string },
      ][]) {
        const id = await campaignIn(r, state, listId);
        const before = await r.read(id);
        const answer = await r.call('POST', `/api/v1/campaigns/${id}/${action}`);
        const what = `${action} from ${state}`;
        if (typeof expected === 'string') {
          expect(answer.statusCode, `${what}: ${answer.body}`).toBe(200);
          expect(answer.json<{ state: string }>().state, what).toBe(expected);
          if (expected === state) {
            // Already there: nothing changed.
            expect(await r.read(id), what).toEqual(before);
          }
        } else {
          expect(answer.statusCode, `${what}: ${answer.body}`).toBe(409);
          expect(answer.json<ErrorAnswer>().error, what).toEqual({
            code: 'CONFLICT',
            message: `Campaign ${id} ${expected.refused}`,
          });
          expect(await r.read(id), what).toEqual(before);
        }
      }
    }
  }, 60_000);

  it('refuses to start without its settings, with an empty list or a disabled integration, or a voice campaign', async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    const bare = await r.call('POST', '/api/v1/campaigns', {
      id: 'bare',
      name: 'Bare',
      type: 'integration',
    });
    expect(bare.statusCode, bare.body).toBe(201);
    expect(bare.json()).toMatchObject({
      state: 'idle',
      contactListId: null,
      integrationId: null,
      ratePerSecond: null,
      progress: { total: 0, pending: 0, succeeded: 0, failed: 0, cancelled: 0 },
    });
    const unset = await r.call('POST', '/api/v1/campaigns/bare/start');
    expect(unset.statusCode).toBe(409);
    expect(unset.json<ErrorAnswer>().error).toEqual({
      code: 'CONFLICT',
      message:
        'Campaign bare cannot start: set its contactListId, integrationId, ratePerSecond first',
      details: [
        { field: 'contactListId', message: 'is not set' },
        { field: 'integrationId', message: 'is not set' },
        { field: 'ratePerSecond', message: 'is not set' },
      ],
    });

    const empty = (await r.call('POST', '/api/v1/contact-lists', { name: 'Empty' })).json<{
      id: string;
    }>().id;
    const onEmpty = await r.campaign(empty, 1, 'on-empty');
    const refusedEmpty = await r.call('POST', `/api/v1/campaigns/${onEmpty}/start`);
    expect(refusedEmpty.statusCode).toBe(409);
    expect(refusedEmpty.json<ErrorAnswer>().error.message).toBe(
      `Campaign on-empty cannot start: its contact list ${empty} has no contacts`,
    );

    const listId = await r.list(1);
    const id = await r.campaign(listId, 1, 'off');
    await r.call('PATCH', `/api/v1/integrations/${r.integrationId}`, { enabled: false });
    const refusedOff = await r.call('POST', `/api/v1/campaigns/${id}/start`);
    expect(refusedOff.statusCode).toBe(409);
    expect(refusedOff.json<ErrorAnswer>().error.message).toBe(
      `Campaign off cannot start: its integration ${r.integrationId} is disabled; enable it first`,
    );

    await r.call('POST', '/api/v1/campaigns', { id: 'voice', name: 'Voice', type: 'voice' });
    const voice = await r.call('POST', '/api/v1/campaigns/voice/start');
    expect(voice.statusCode).toBe(409);
    expect(voice.json<ErrorAnswer>().error.message).toBe(
      'Campaign voice is a voice campaign: only an integration campaign is started, paused, resumed or stopped',
    );
    const results = await r.call('GET', '/api/v1/campaigns/voice/results');
    expect(results.statusCode).toBe(409);
    const settings = await r.call('PATCH', '/api/v1/campaigns/voice', { ratePerSecond: 2 });
    expect(settings.statusCode).toBe(400);
    expect(settings.json<ErrorAnswer>().error.details).toEqual([
      { field: 'body.ratePerSecond', message: 'is for integration campaigns; this one is voice' },
    ]);
    // A rate under one every 28 hours is refused, for a campaign and for an integration's limit:
    // 1e-300 asked for one send every 10^303 ms.
    const slowest = await r.call('PATCH', `/api/v1/campaigns/${id}`, { ratePerSecond: 0.00001 });
    expect(slowest.statusCode, slowest.body).toBe(200);
    for (const [url, body, field] of [
      [`/api/v1/campaigns/${id}`, { ratePerSecond: 1e-300 }, 'body.ratePerSecond'],
      [
        `/api/v1/integrations/${r.integrationId}`,
        { options: { ratePerSecond: 1e-300 } },
        'options.ratePerSecond',
      ],
    ] as const) {
      const tiny = await r.call('PATCH', url, body);
      expect(tiny.statusCode, tiny.body).toBe(400);
      expect(tiny.json<ErrorAnswer>().error.details).toEqual([
        { field, message: 'must be >= 0.00001' },
      ]);
    }
  });

  it('refuses to resume while its integration is disabled, as start does, and resumes once enabled', async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    const id = await r.campaign(await r.list(2), 1, 'held');
    await r.act(id, 'start');
    await r.act(id, 'pause');
    const off = await r.call('PATCH', `/api/v1/integrations/${r.integrationId}`, {
      enabled: false,
    });
    expect(off.statusCode, off.body).toBe(200);
    const refused = await r.call('POST', `/api/v1/campaigns/${id}/resume`);
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json<ErrorAnswer>().error).toEqual({
      code: 'CONFLICT',
      message: `Campaign held cannot resume: its integration ${r.integrationId} is disabled; enable it first`,
      details: [{ field: 'integrationId', message: 'names a disabled integration' }],
    });
    expect((await r.read(id)).state).toBe('paused');
    await r.call('PATCH', `/api/v1/integrations/${r.integrationId}`, { enabled: true });
    expect((await r.act(id, 'resume')).state).toBe('running');
    // Running already, it answers 200 unchanged whatever its integration: nothing to refuse.
    await r.call('PATCH', `/api/v1/integrations/${r.integrationId}`, { enabled: false });
    expect((await r.act(id, 'resume')).state).toBe('running');
  });

  it('fixes the list and integration once started, takes a new rate until the end, and deletes only a campaign not running', async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    const listId = await r.list(3);
    const otherList = await r.list(1);
    const id = await r.campaign(listId, 2);
    // Before the start anything goes, null included.
    const edited = await r.call('PATCH', `/api/v1/campaigns/${id}`, {
      contactListId: otherList,
      ratePerSecond: null,
    });
    expect(edited.statusCode, edited.body).toBe(200);
    expect(edited.json()).toMatchObject({ contactListId: otherList, ratePerSecond: null });
    await r.call('PATCH', `/api/v1/campaigns/${id}`, { contactListId: listId, ratePerSecond: 2 });
    await r.act(id, 'start');

    const moved = await r.call('PATCH', `/api/v1/campaigns/${id}`, { contactListId: otherList });
    expect(moved.statusCode).toBe(409);
    expect(moved.json<ErrorAnswer>().error).toEqual({
      code: 'CONFLICT',
      message: `Campaign ${id} is running: its contact list and integration are fixed once it has started`,
      details: [{ field: 'body.contactListId', message: 'cannot change while running' }],
    });
    // The settings as they are, sent back: nothing changes, so nothing is refused.
    const same = await r.call('PATCH', `/api/v1/campaigns/${id}`, {
      name: 'Spring 2',
      contactListId: listId,
      integrationId: r.integrationId,
      ratePerSecond: 2,
    });
    expect(same.statusCode, same.body).toBe(200);
    const faster = await r.call('PATCH', `/api/v1/campaigns/${id}`, { ratePerSecond: 0.5 });
    expect(faster.statusCode, faster.body).toBe(200);
    expect(faster.json()).toMatchObject({ ratePerSecond: 0.5, name: 'Spring 2', state: 'running' });
    const cleared = await r.call('PATCH', `/api/v1/campaigns/${id}`, { ratePerSecond: null });
    expect(cleared.statusCode).toBe(409);

    const deleteRunning = await r.call('DELETE', `/api/v1/campaigns/${id}`);
    expect(deleteRunning.statusCode).toBe(409);
    expect(deleteRunning.json<ErrorAnswer>().error.message).toBe(
      `Campaign ${id} is running: stop it before deleting it`,
    );
    await r.act(id, 'pause');
    expect((await r.call('DELETE', `/api/v1/campaigns/${id}`)).statusCode).toBe(409);
    await r.act(id, 'stop');
    const late = await r.call('PATCH', `/api/v1/campaigns/${id}`, { ratePerSecond: 3 });
    expect(late.statusCode).toBe(409);
    expect(late.json<ErrorAnswer>().error.message).toBe(
      `Campaign ${id} is stopped: its rate no longer applies`,
    );
    expect((await r.call('DELETE', `/api/v1/campaigns/${id}`)).statusCode).toBe(204);
  });

  it("answers 404 for another user's campaign and 403 without the integration permission", async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    const listId = await r.list(1);
    const id = await r.campaign(listId, 1);
    const bob = await r.t.user({ grants: ['integration', 'campaign', 'contact'] });
    for (const action of ['start', 'pause', 'resume', 'stop']) {
      const answer = await r.call('POST', `/api/v1/campaigns/${id}/${action}`, undefined, bob);
      expect(answer.statusCode, action).toBe(404);
    }
    expect(
      (await r.call('GET', `/api/v1/campaigns/${id}/results`, undefined, bob)).statusCode,
    ).toBe(404);
    expect(
      (await r.call('PATCH', `/api/v1/campaigns/${id}`, { ratePerSecond: 9 }, bob)).statusCode,
    ).toBe(404);
    // Bob's campaign may not name Alice's list or integration.
    const borrowed = await r.call(
      'POST',
      '/api/v1/campaigns',
      { name: 'Mine', type: 'integration', contactListId: listId, integrationId: r.integrationId },
      bob,
    );
    expect(borrowed.statusCode).toBe(400);
    expect(borrowed.json<ErrorAnswer>().error.details).toEqual([
      { field: 'body.contactListId', message: `no contact list ${listId}` },
      { field: 'body.integrationId', message: `no integration ${r.integrationId}` },
    ]);

    const carol = await r.t.user({ grants: ['campaign', 'contact'] });
    const carolsList = (await r.call('POST', '/api/v1/contact-lists', { name: 'C' }, carol)).json<{
      id: string;
    }>().id;
    const withoutGrant = await r.call(
      'POST',
      '/api/v1/campaigns',
      { name: 'C', type: 'integration', contactListId: carolsList },
      carol,
    );
    expect(withoutGrant.statusCode).toBe(403);
    expect(withoutGrant.json<ErrorAnswer>().error).toMatchObject({
      code: 'FORBIDDEN',
      details: { permission: 'integration' },
    });
    const carolsCampaign = await r.call(
      'POST',
      '/api/v1/campaigns',
      { id: 'c', name: 'C', type: 'integration' },
      carol,
    );
    expect(carolsCampaign.statusCode).toBe(201);
    const start = await r.call('POST', '/api/v1/campaigns/c/start', undefined, carol);
    expect(start.statusCode).toBe(403);
    expect(start.json<ErrorAnswer>().error).toMatchObject({
      details: { permission: 'integration' },
    });
  });
});
