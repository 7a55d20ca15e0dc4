/**
 * Host name look-ups shared by every outbound connection of the process. The system resolver
 * (`getaddrinfo`) runs on libuv's thread pool, four threads by default, which also serve
 * scrypt (sign-in), zlib and file reads. One name whose DNS never answers holds a thread for the
 * resolver's whole timeout (about 10 s with the usual resolv.conf); four such look-ups at once
 * would stall every other integration's connections and the service itself. So:
 *
 * - look-ups of one name share one call (a dead name holds one thread, however many deliveries
 *   ask for it);
 * - at most `maxInFlight` calls run at once (the rest of the pool stays free); others queue;
 * - an answer serves the same name for `freshMs`; an older one, up to `staleMs`, serves a name
 *   whose new look-up is queued behind busy slots or failed for a temporary reason (`EAI_AGAIN`,
 *   a timeout), so a known name never waits on another name's dead DNS. Any other failure
 *   (`ENOTFOUND`) forgets the name's answer.
 *
 * The network policy judges the addresses at every connection, cached or not (safe-connect.ts).
 */
import type dns from 'node:dns';
import { threadPoolSize } from '../config.js';

/** Resolves a hostname to every address it has (like `dns.lookup` with `all: true`). */
export type Resolver = (hostname: string) => Promise<dns.LookupAddress[]>;

export interface SharedLookupOptions {
  /** Look-ups running at once (default half the pool: 2 of libuv's 4 threads). */
  maxInFlight?: number;
  /** How long an answer is used without asking again (default 10 s). */
  freshMs?: number;
  /** How long an answer may stand in while a new look-up waits or failed for now (default 5 min). */
  staleMs?: number;
  /** Names remembered at most; the least recently resolved go first (default 10,000). */
  maxNames?: number;
  now?: () => number;
}

interface Answer {
  addresses: dns.LookupAddress[];
  at: number;
}

const halfThePool = (): number => Math.max(1, Math.floor(threadPoolSize() / 2));

/** Errors that say nothing about the name, only that DNS could not answer now. */
const TEMPORARY = new Set(['EAI_AGAIN', 'ETIMEOUT', 'ETIMEDOUT', 'ESERVFAIL', 'ECONNREFUSED']);

function temporary(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null | undefined)?.code;
  return typeof code === 'string' && TEMPORARY.has(code);
}

/**
 * Wraps `lookup` with sharing, a cap on calls in flight and a short cache (see the module note).
 *
 * ### Examples
 * ```ts
 * const resolve = sharedLookup((name) => dns.promises.lookup(name, { all: true }));
 * const addresses = await resolve('crm.example.com');
 * ```
 */
export function sharedLookup(lookup: Resolver, options: SharedLookupOptions = {}): Resolver {
  const maxInFlight = options.maxInFlight ?? halfThePool();
  const freshMs = options.freshMs ?? 10_000;
  const staleMs = options.staleMs ?? 300_000;
  const maxNames = options.maxNames ?? 10_000;
  const now = options.now ?? Date.now;

  const answers = new Map<string, Answer>();
  const inFlight = new Map<string, Promise<dns.LookupAddress[]>>();
  const queue: (() => void)[] = [];
  let running = 0;

  const remember = (hostname: string, addresses: dns.LookupAddress[]): void => {
    answers.delete(hostname);
    answers.set(hostname, { addresses, at: now() });
    if (answers.size > maxNames) answers.delete(answers.keys().next().value as string);
  };

  /** Runs the look-up when a slot is free; the slot is given back however it ends. */
  const run = (hostname: string): Promise<dns.LookupAddress[]> =>
    new Promise<void>((start) => {
      if (running < maxInFlight) {
        running += 1;
        start();
      } else {
        queue.push(start);
      }
    })
      .then(() => lookup(hostname))
      .finally(() => {
        const next = queue.shift();
        if (next === undefined) running -= 1;
        else next();
      });

  const ask = (hostname: string): Promise<dns.LookupAddress[]> => {
    let pending = inFlight.get(hostname);
    if (pending === undefined) {
      pending = run(hostname).then(
        (addresses) => {
          inFlight.delete(hostname);
          remember(hostname, addresses);
          return addresses;
        },
        (error: unknown) => {
          inFlight.delete(hostname);
          // DNS said something about the name (`ENOTFOUND`): what it resolved to is past.
          if (!temporary(error)) answers.delete(hostname);
          throw error;
        },
      );
      inFlight.set(hostname, pending);
    }
    return pending;
  };

  return async (hostname) => {
    const known = answers.get(hostname);
    const age = known === undefined ? Infinity : now() - known.at;
    if (known !== undefined && age < freshMs) return known.addresses;
    const waits = inFlight.has(hostname) || running >= maxInFlight;
    const pending = ask(hostname);
    if (known === undefined || age >= staleMs) return pending;
    // A known name: its last answer stands in while the new look-up queues or is stuck (asked
    // before and still out), and when DNS cannot answer for now. The new answer is kept.
    pending.catch(() => undefined);
    if (waits) return known.addresses;
    try {
      return await pending;
    } catch (error) {
      if (temporary(error)) return known.addresses;
      throw error;
    }
  };
}
