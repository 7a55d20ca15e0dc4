/**
 * Host name look-ups shared by the process: one call per name however many connections ask, at
 * most `maxInFlight` calls at once, a short cache whose older answers stand in for a name whose
 * new look-up waits or fails for now. The last case runs on libuv's real thread pool: a look-up
 * that reads a FIFO nobody writes holds a pool thread the way `getaddrinfo` does while a DNS
 * server never answers.
 */
import { execFileSync } from 'node:child_process';
import dns from 'node:dns';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { sharedLookup, type Resolver } from '../../src/transport/shared-lookup.js';

type Addresses = dns.LookupAddress[];

const at = (address: string): Addresses => [{ address, family: 4 }];

/** A played resolver whose every call waits until the test answers it. */
function playedDns() {
  const calls: {
    hostname: string;
    answer: (a: Addresses) => void;
    fail: (code: string) => void;
  }[] = [];
  const lookup: Resolver = (hostname) =>
    new Promise<Addresses>((resolve, reject) => {
      calls.push({
        hostname,
        answer: resolve,
        fail: (code) => reject(Object.assign(new Error(`${code} ${hostname}`), { code })),
      });
    });
  return { calls, lookup };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

/** Whether `promise` settles within `ms`; its value, or 'pending'. */
async function within<T>(ms: number, promise: Promise<T>): Promise<T | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'pending'>((resolve) => (timer = setTimeout(resolve, ms, 'pending')));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('sharedLookup', () => {
  it('asks once for a name that many connections want at the same time', async () => {
    const played = playedDns();
    const resolve = sharedLookup(played.lookup);
    const answers = Array.from({ length: 6 }, () => resolve('crm.example'));
    await settled();
    expect(played.calls.map((call) => call.hostname)).toEqual(['crm.example']);
    played.calls[0]!.answer(at('192.0.2.1'));
    expect(await Promise.all(answers)).toEqual(Array.from({ length: 6 }, () => at('192.0.2.1')));
  });

  it('runs at most maxInFlight look-ups; a queued one starts when one ends', async () => {
    const played = playedDns();
    const resolve = sharedLookup(played.lookup, { maxInFlight: 2 });
    const a = resolve('a.example');
    void resolve('b.example');
    const c = resolve('c.example');
    await settled();
    expect(played.calls.map((call) => call.hostname)).toEqual(['a.example', 'b.example']);
    played.calls[0]!.fail('ENOTFOUND');
    await expect(a).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await settled();
    expect(played.calls.map((call) => call.hostname)).toEqual([
      'a.example',
      'b.example',
      'c.example',
    ]);
    played.calls[2]!.answer(at('192.0.2.3'));
    expect(await c).toEqual(at('192.0.2.3'));
  });

  it('uses an answer for freshMs, then asks again', async () => {
    const played = playedDns();
    let now = 1_000;
    const resolve = sharedLookup(played.lookup, { freshMs: 10_000, now: () => now });
    const first = resolve('crm.example');
    await settled();
    played.calls[0]!.answer(at('192.0.2.1'));
    await first;
    now += 9_999;
    expect(await resolve('crm.example')).toEqual(at('192.0.2.1'));
    expect(played.calls).toHaveLength(1);
    now += 1;
    const again = resolve('crm.example');
    await settled();
    expect(played.calls).toHaveLength(2);
    played.calls[1]!.answer(at('192.0.2.9'));
    expect(await again).toEqual(at('192.0.2.9'));
  });

  it('answers a known name from its last answer while dead names hold every slot', async () => {
    const played = playedDns();
    let now = 0;
    const resolve = sharedLookup(played.lookup, {
      maxInFlight: 2,
      freshMs: 10_000,
      staleMs: 300_000,
      now: () => now,
    });
    const known = resolve('crm.example');
    await settled();
    played.calls[0]!.answer(at('192.0.2.1'));
    await known;
    now += 60_000;
    void resolve('dead-1.example').catch(() => undefined);
    void resolve('dead-2.example').catch(() => undefined);
    await settled();
    // Expired, and its new look-up queued behind the dead ones: the last answer stands in.
    expect(await within(200, resolve('crm.example'))).toEqual(at('192.0.2.1'));
    // A name never resolved has nothing to stand in: it waits for a slot.
    expect(await within(50, resolve('new.example'))).toBe('pending');
    // The dead names end; the queued look-ups run and their answers are kept.
    played.calls[1]!.fail('EAI_AGAIN');
    played.calls[2]!.fail('EAI_AGAIN');
    await settled();
    expect(played.calls.slice(3).map((call) => call.hostname)).toEqual([
      'crm.example',
      'new.example',
    ]);
    played.calls[3]!.answer(at('192.0.2.7'));
    await settled();
    expect(await resolve('crm.example')).toEqual(at('192.0.2.7'));
  });

  it('stands in with the last answer after a temporary failure, never after ENOTFOUND', async () => {
    const played = playedDns();
    let now = 0;
    const resolve = sharedLookup(played.lookup, { freshMs: 10_000, now: () => now });
    const first = resolve('crm.example');
    await settled();
    played.calls[0]!.answer(at('192.0.2.1'));
    await first;

    now += 20_000;
    const temporary = resolve('crm.example');
    await settled();
    played.calls[1]!.fail('EAI_AGAIN');
    expect(await temporary).toEqual(at('192.0.2.1'));

    const gone = resolve('crm.example');
    await settled();
    played.calls[2]!.fail('ENOTFOUND');
    await expect(gone).rejects.toMatchObject({ code: 'ENOTFOUND' });

    // A failure is not remembered: the next connection asks again.
    const next = resolve('crm.example');
    await settled();
    expect(played.calls).toHaveLength(4);
    played.calls[3]!.answer(at('192.0.2.2'));
    expect(await next).toEqual(at('192.0.2.2'));
  });

  it('forgets a name DNS says does not exist: its old answer no longer stands in, even behind busy slots', async () => {
    const played = playedDns();
    let now = 0;
    const resolve = sharedLookup(played.lookup, {
      maxInFlight: 1,
      freshMs: 10_000,
      staleMs: 300_000,
      now: () => now,
    });
    const first = resolve('crm.example');
    await settled();
    played.calls[0]!.answer(at('192.0.2.1'));
    await first;
    now += 20_000;
    const gone = resolve('crm.example');
    await settled();
    played.calls[1]!.fail('ENOTFOUND');
    await expect(gone).rejects.toMatchObject({ code: 'ENOTFOUND' });
    // A dead name holds the only slot: the name that no longer exists waits for a look-up of its
    // own instead of being answered with the address it had.
    void resolve('dead.example').catch(() => undefined);
    await settled();
    const again = resolve('crm.example');
    expect(await within(50, again)).toBe('pending');
    played.calls[2]!.fail('EAI_AGAIN');
    await settled();
    expect(played.calls.map((call) => call.hostname)).toEqual([
      'crm.example',
      'crm.example',
      'dead.example',
      'crm.example',
    ]);
    played.calls[3]!.fail('ENOTFOUND');
    await expect(again).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  it('keeps an answer no longer than staleMs', async () => {
    const played = playedDns();
    let now = 0;
    const resolve = sharedLookup(played.lookup, {
      maxInFlight: 1,
      freshMs: 1_000,
      staleMs: 5_000,
      now: () => now,
    });
    const first = resolve('crm.example');
    await settled();
    played.calls[0]!.answer(at('192.0.2.1'));
    await first;
    now += 5_000;
    void resolve('dead.example').catch(() => undefined);
    expect(await within(50, resolve('crm.example'))).toBe('pending');
    played.calls[1]!.fail('EAI_AGAIN');
    await settled();
    played.calls[2]!.answer(at('192.0.2.5'));
    expect(await resolve('crm.example')).toEqual(at('192.0.2.5'));
  });

  it('forgets the least recently resolved name past maxNames', async () => {
    const played = playedDns();
    const resolve = sharedLookup(played.lookup, { maxNames: 2 });
    for (const name of ['a.example', 'b.example', 'c.example']) {
      const answer = resolve(name);
      await settled();
      played.calls.at(-1)!.answer(at('192.0.2.1'));
      await answer;
    }
    void resolve('b.example');
    void resolve('c.example');
    void resolve('a.example');
    await settled();
    expect(played.calls.slice(3).map((call) => call.hostname)).toEqual(['a.example']);
    played.calls[3]!.answer(at('192.0.2.1'));
  });
});

describe('sharedLookup on the real thread pool', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'callhook-dns-'));
  const fifo = path.join(dir, 'dns-never-answers');
  execFileSync('mkfifo', [fifo]);

  /** Look-ups of `dead.example` hold a pool thread until the FIFO is written; others are real. */
  const lookup: Resolver = (hostname) =>
    hostname === 'dead.example'
      ? fs.promises.readFile(fifo).then(() => {
          throw Object.assign(new Error('EAI_AGAIN dead.example'), { code: 'EAI_AGAIN' });
        })
      : dns.promises.lookup(hostname, { all: true });

  /** Lets every blocked reader of the FIFO go (they read end of file and fail); none is fine. */
  const release = (): void => {
    try {
      fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENXIO') throw error;
    }
  };

  /**
   * Releases readers until every one of `stuck` has settled. One release is not enough: a reader
   * queued behind the busy pool opens the FIFO only when a thread comes free, after the release,
   * and would block again with no writer to come (failing the test on its timeout, and holding a
   * pool thread of this test worker for good once the FIFO is removed).
   */
  const releaseAll = async (stuck: readonly Promise<unknown>[]): Promise<void> => {
    let done = false;
    const all = Promise.all(stuck).then(() => (done = true));
    while (!done) {
      release();
      await within(20, all);
    }
  };

  afterEach(release);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('without sharing, six connections to a name whose DNS hangs stall every other look-up', async () => {
    const stuck = Array.from({ length: 6 }, () => lookup('dead.example').catch(() => undefined));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await within(500, lookup('localhost'))).toBe('pending');
    await releaseAll(stuck);
  });

  it('shared, they hold one thread: other names and file reads go on', async () => {
    const resolve = sharedLookup(lookup);
    const stuck = Array.from({ length: 6 }, () => resolve('dead.example').catch(() => undefined));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const local = await within(2_000, resolve('localhost'));
    expect(local).not.toBe('pending');
    expect((local as Addresses).length).toBeGreaterThan(0);
    expect(await within(2_000, fs.promises.stat(dir))).not.toBe('pending');
    await releaseAll(stuck);
  });
});
