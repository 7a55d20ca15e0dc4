/**
 * `callhook simulate`: plays a dialer against a running Callhook — call events for a campaign,
 * at a set rate, in batches — and reports what was accepted. For demos and load tests.
 */
import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';

export interface SimulateOptions {
  url: string;
  key: string;
  campaign: string;
  calls: number;
  /** Calls per second (0: as fast as answers come). */
  rate: number;
  batch: number;
  /** Also report call.started and call.answered before call.ended. */
  lifecycle: boolean;
  /** Injected for tests; defaults to Math.random. */
  random?: () => number;
  /** Ends the run after the request in flight (Ctrl-C): the report covers what was sent. */
  signal?: AbortSignal;
}

export interface SimulateReport {
  calls: number;
  events: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  seconds: number;
  /** The signal ended the run before every call was sent. */
  stopped: boolean;
}

const STATUSES = ['answered', 'answered', 'answered', 'no_answer', 'busy', 'failed'] as const;
const NAMES = ['Ana', 'Bruno', 'Chloé', 'Dmitri', 'Eun-ji', 'Fatima', 'Gus', 'Hana'];

function callEvents(
  campaignId: string,
  index: number,
  lifecycle: boolean,
  random: () => number,
): object[] {
  const callId = `sim-${randomUUID()}`;
  const status = STATUSES[Math.floor(random() * STATUSES.length)]!;
  const phone = `+1555${String(1_000_000 + Math.floor(random() * 8_999_999))}`;
  const started = Date.now();
  const duration = status === 'answered' ? 5 + Math.floor(random() * 300) : 0;
  const contact = {
    id: `k-${index}`,
    phone,
    firstName: NAMES[index % NAMES.length],
    custom: { plan: random() < 0.5 ? 'gold' : 'silver' },
  };
  const call = { id: callId, phone, direction: 'outbound', attempt: 1 };
  const event = (type: string, at: number, extra: object = {}) => ({
    id: `${callId}:${type}`,
    type,
    occurredAt: new Date(at).toISOString(),
    campaignId,
    call: { ...call, ...extra },
    contact,
  });
  const ended = event('call.ended', started + duration * 1000, {
    status,
    duration,
    billsec: duration,
  });
  if (!lifecycle) return [ended];
  const events = [event('call.started', started)];
  if (status === 'answered') events.push(event('call.answered', started + 1000, { status }));
  return [...events, ended];
}

/** The service could not be reached or refused a batch: what was sent before is in `report`. */
export class SimulateError extends Error {
  constructor(
    message: string,
    readonly report: SimulateReport,
  ) {
    super(message);
  }
}

export async function simulate(options: SimulateOptions): Promise<SimulateReport> {
  const random = options.random ?? Math.random;
  const pool = new Pool(options.url, { connections: 4 });
  const report: SimulateReport = {
    calls: 0,
    events: 0,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    seconds: 0,
    stopped: false,
  };
  const signal = options.signal;
  const started = performance.now();
  try {
    while (report.calls < options.calls && signal?.aborted !== true) {
      const take = Math.min(options.batch, options.calls - report.calls);
      const events = Array.from({ length: take }, (_, i) =>
        callEvents(options.campaign, report.calls + i, options.lifecycle, random),
      ).flat();
      let statusCode: number;
      let text: string;
      try {
        const res = await pool.request({
          method: 'POST',
          path: '/api/v1/events',
          headers: { authorization: `Bearer ${options.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ events }),
        });
        statusCode = res.statusCode;
        text = await res.body.text();
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const what = error instanceof Error ? error.message : String(error);
        throw new SimulateError(
          `cannot reach the service at ${options.url}: ${code !== undefined && !what.includes(code) ? `${code} ` : ''}${what}`,
          report,
        );
      }
      if (statusCode !== 202)
        throw new SimulateError(`the service answered ${statusCode}: ${text}`, report);
      const answer = JSON.parse(text) as {
        accepted: string[];
        duplicates: string[];
        rejected: { error?: string; field?: string }[];
      };
      report.calls += take;
      report.events += events.length;
      report.accepted += answer.accepted.length;
      report.duplicates += answer.duplicates.length;
      report.rejected += answer.rejected.length;
      // The simulator's events are well-formed: one rejected says the run is set up wrong (an
      // unknown campaign, one of another user), and every later batch would be rejected alike.
      const [first] = answer.rejected;
      if (first !== undefined) {
        const why = `${first.field === undefined ? '' : `${first.field}: `}${first.error ?? 'no reason given'}`;
        throw new SimulateError(
          `the service rejected ${answer.rejected.length} of the ${events.length} events of a batch: ${why}`,
          report,
        );
      }
      if (options.rate > 0) {
        const due = (report.calls / options.rate) * 1000 - (performance.now() - started);
        if (due > 0) await pause(due, signal);
      }
    }
  } finally {
    // Also when it stops on an error: a SimulateError carries the report so far.
    report.seconds = Math.round((performance.now() - started) / 10) / 100;
    report.stopped = report.calls < options.calls;
    await pool.close();
  }
  return report;
}

/** Waits `ms`, or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
