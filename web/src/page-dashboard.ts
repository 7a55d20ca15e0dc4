/**
 * The dashboard: throughput, success rate and accepted events per minute over the last hour, and
 * the queue's depth once a minute, from `GET /api/v1/activity` (every process's counts, written
 * every 10 s; the queue sampled once a minute by one process; read every 15 s). The tiles' queue
 * figures are the Prometheus metrics' (`GET /metrics`, public; the queue gauges are the store's),
 * read every 5 s. Without the `integration` permission the activity cannot be read: the queue
 * chart is then drawn from those 5 s readings while the page is shown.
 */
import { api } from './api.js';
import { h, replace } from './dom.js';
import { can, poll, type PageContext } from './shell.js';

const SAMPLE_MS = 5_000;
const KEEP = 120; // ten minutes of samples
const ACTIVITY_MS = 15_000;
const MINUTE_MS = 60_000;
/** Complete minutes shown (the current one, still counting, is not). */
const MINUTES = 60;

interface Sample {
  at: number;
  queueDepth: number;
  oldestAge: number;
  openCircuits: number;
}

/** One minute of `GET /api/v1/activity`. */
interface ActivityMinute {
  minute: string;
  succeeded: number;
  failed: number;
  retried: number;
  events: number;
}

/** The queue's sample of one minute, in `GET /api/v1/activity`. */
interface QueueMinute {
  minute: string;
  pending: number;
  oldestPendingAgeSeconds: number;
  openCircuits: number;
}

/** The queue gauges this page reads from the metrics text. */
export function readMetrics(text: string): Omit<Sample, 'at'> {
  const gauges: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const match = /^([a-z_]+)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match === null) continue;
    const [, name = '', , raw = ''] = match;
    if (name.startsWith('callhook_queue_') || name === 'callhook_open_circuits') {
      gauges[name] = Number(raw);
    }
  }
  return {
    queueDepth: gauges['callhook_queue_depth'] ?? Number.NaN,
    oldestAge: gauges['callhook_queue_oldest_pending_age_seconds'] ?? Number.NaN,
    openCircuits: gauges['callhook_open_circuits'] ?? Number.NaN,
  };
}

interface MinuteRates {
  /** Deliveries that reached a final state, per second. */
  throughput: number;
  /** Succeeded of all attempts' decisions, %; NaN without attempts. */
  success: number;
  /** Events accepted per second. */
  events: number;
  succeeded: number;
  failed: number;
}

/** The starts of the last `MINUTES` complete minutes before `now`, oldest first. */
function lastMinutes(now: number): number[] {
  const current = now - (now % MINUTE_MS);
  return Array.from({ length: MINUTES }, (_, i) => current - (MINUTES - i) * MINUTE_MS);
}

/** The last `MINUTES` complete minutes before `now`, oldest first; a minute without rows is 0. */
function perMinute(items: ActivityMinute[], now: number): MinuteRates[] {
  const byMinute = new Map(items.map((item) => [Date.parse(item.minute), item]));
  const minutes: MinuteRates[] = [];
  for (const start of lastMinutes(now)) {
    const item = byMinute.get(start);
    const succeeded = item?.succeeded ?? 0;
    const failed = item?.failed ?? 0;
    const attempts = succeeded + failed + (item?.retried ?? 0);
    minutes.push({
      throughput: (succeeded + failed) / 60,
      success: attempts === 0 ? Number.NaN : (100 * succeeded) / attempts,
      events: (item?.events ?? 0) / 60,
      succeeded,
      failed,
    });
  }
  return minutes;
}

/**
 * The queue's depth in each of the last `MINUTES` minutes, the current one included (a sample is
 * a reading, not a count that is still growing); NaN (a gap) where none was taken.
 */
function queuePerMinute(queue: QueueMinute[], now: number): number[] {
  const byMinute = new Map(queue.map((q) => [Date.parse(q.minute), q.pending]));
  return lastMinutes(now + MINUTE_MS).map((start) => byMinute.get(start) ?? Number.NaN);
}

const SVG = 'http://www.w3.org/2000/svg';

/** A line chart of `values` (oldest first, the newest at the right of `slots`) scaled to their maximum. */
function chart(title: string, values: number[], unit: string, slots: number): HTMLElement {
  const width = 600;
  const height = 120;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', title);
  const finite = values.filter((v) => Number.isFinite(v));
  const max = Math.max(1, ...finite);
  const step = width / Math.max(slots - 1, 1);
  const offset = slots - values.length;
  const points = values
    .map((v, i) =>
      Number.isFinite(v)
        ? `${((offset + i) * step).toFixed(1)},${(height - 14 - (v / max) * (height - 24)).toFixed(1)}`
        : '',
    )
    .filter((p) => p !== '')
    .join(' ');
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', points);
  svg.appendChild(line);
  const label = document.createElementNS(SVG, 'text');
  label.setAttribute('x', '4');
  label.setAttribute('y', '12');
  label.textContent = `max ${formatNumber(max)} ${unit}`;
  svg.appendChild(label);
  return h('div', { class: 'chart-box' }, h('h3', {}, title), svg);
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return '–';
  return value >= 100
    ? value.toFixed(0)
    : value >= 10
      ? value.toFixed(1)
      : value.toFixed(2).replace(/\.?0+$/, '');
}

function stat(label: string, value: string): HTMLElement {
  return h(
    'div',
    { class: 'stat' },
    h('div', { class: 'muted' }, label),
    h('div', { class: 'value' }, value),
  );
}

export function dashboard(context: PageContext): HTMLElement {
  const samples: Sample[] = [];
  let minutes: MinuteRates[] | undefined;
  let queueDepths: number[] | undefined;
  const reads = can(context.me, 'integration');
  const stats = h('div', { class: 'stats' });
  const charts = h('div', { class: 'charts' });
  const note = h(
    'p',
    { class: 'muted' },
    reads
      ? 'Deliveries and events per minute over the last hour, from every process (each writes its counts every 10 s), and the queue once a minute; the tiles read the queue every 5 s.'
      : 'Deliveries and events per minute need the "integration" permission; the queue is sampled every 5 s while this page is open (the last ten minutes).',
  );
  // What could not be read, by source, shown until it is read again: the figures on screen are
  // then older than they look.
  const problems = new Map<string, string>();
  const trouble = h('p', { class: 'bad', role: 'alert', hidden: true });
  const noteProblem = (source: string, error: unknown) => {
    if (error === undefined) problems.delete(source);
    else problems.set(source, error instanceof Error ? error.message : String(error));
    trouble.hidden = problems.size === 0;
    trouble.textContent = [...problems]
      .map(([what, why]) => `${what} could not be read (${why}); trying again.`)
      .join(' ');
  };
  /** `read` run for a poll, its failure said on the page (and thrown on, for `poll`). */
  const reading = (source: string, read: () => Promise<void>) => async () => {
    try {
      await read();
      noteProblem(source, undefined);
    } catch (error) {
      noteProblem(source, error);
      throw error;
    }
  };
  const draw = () => {
    const last = samples.at(-1);
    const minute = minutes?.at(-1);
    const sum = (field: 'succeeded' | 'failed') =>
      minutes === undefined ? Number.NaN : minutes.reduce((total, m) => total + m[field], 0);
    replace(
      stats,
      stat('Deliveries done / s (last minute)', formatNumber(minute?.throughput ?? Number.NaN)),
      stat(
        'Success rate (attempts, last minute)',
        minute === undefined || !Number.isFinite(minute.success)
          ? '–'
          : `${formatNumber(minute.success)} %`,
      ),
      stat('Events accepted / s (last minute)', formatNumber(minute?.events ?? Number.NaN)),
      stat('Queue depth', formatNumber(last?.queueDepth ?? Number.NaN)),
      stat('Oldest due (s)', formatNumber(last?.oldestAge ?? Number.NaN)),
      stat('Open circuits', formatNumber(last?.openCircuits ?? Number.NaN)),
      stat('Last hour: succeeded', formatNumber(sum('succeeded'))),
      stat('Last hour: failed', formatNumber(sum('failed'))),
    );
    replace(
      charts,
      ...(minutes === undefined
        ? []
        : [
            chart(
              'Throughput (deliveries done per second, per minute)',
              minutes.map((m) => m.throughput),
              '/s',
              MINUTES,
            ),
            chart(
              'Success rate (% of attempts, per minute)',
              minutes.map((m) => m.success),
              '%',
              MINUTES,
            ),
          ]),
      queueDepths === undefined
        ? chart(
            'Queue depth (pending deliveries, every 5 s)',
            samples.map((s) => s.queueDepth),
            '',
            KEEP,
          )
        : chart('Queue depth (pending deliveries, per minute)', queueDepths, '', MINUTES),
    );
  };
  if (reads) {
    poll(
      context,
      ACTIVITY_MS,
      reading('The activity per minute', async () => {
        // One minute more than shown: the current one, still counting, is left out.
        const answer = await api<{ items: ActivityMinute[]; queue: QueueMinute[] }>(
          'GET',
          `/activity?minutes=${MINUTES + 1}`,
        );
        const now = Date.now();
        minutes = perMinute(answer.items, now);
        queueDepths = queuePerMinute(answer.queue, now);
        draw();
      }),
    );
  }
  poll(
    context,
    SAMPLE_MS,
    reading('The queue (/metrics)', async () => {
      const response = await fetch('/metrics', { credentials: 'same-origin' });
      if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
      samples.push({ at: Date.now(), ...readMetrics(await response.text()) });
      if (samples.length > KEEP) samples.shift();
      draw();
    }),
  );
  return h(
    'section',
    { class: 'dashboard' },
    h('h1', {}, 'Dashboard'),
    note,
    trouble,
    stats,
    charts,
  );
}
