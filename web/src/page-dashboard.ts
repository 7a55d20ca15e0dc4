/**
 * The dashboard: throughput, success rate and queue depth over time, from the process's Prometheus
 * metrics (`GET /metrics`, public), sampled every 5 s while the page is shown. Counters are this
 * process's (the embedded service runs API and workers in one); the queue gauges are the store's.
 */
import { h, replace } from './dom.js';
import { poll, type PageContext } from './shell.js';

const SAMPLE_MS = 5_000;
const KEEP = 120; // ten minutes of samples

interface Sample {
  at: number;
  /** Deliveries by outcome (succeeded, retry, failed), counters. */
  outcomes: Record<string, number>;
  events: number;
  queueDepth: number;
  oldestAge: number;
  openCircuits: number;
}

/** The metrics this page reads, summed over their labels except `by`. */
export function readMetrics(text: string): Omit<Sample, 'at'> {
  const outcomes: Record<string, number> = {};
  let events = 0;
  const gauges: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const match = /^([a-z_]+)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match === null) continue;
    const [, name = '', labels = '', raw = ''] = match;
    const value = Number(raw);
    if (name === 'callhook_deliveries_total') {
      const outcome = /outcome="([^"]*)"/.exec(labels)?.[1] ?? 'unknown';
      outcomes[outcome] = (outcomes[outcome] ?? 0) + value;
    } else if (name === 'callhook_events_ingested_total' && /result="accepted"/.test(labels)) {
      events += value;
    } else if (name.startsWith('callhook_queue_') || name === 'callhook_open_circuits') {
      gauges[name] = value;
    }
  }
  return {
    outcomes,
    events,
    queueDepth: gauges['callhook_queue_depth'] ?? Number.NaN,
    oldestAge: gauges['callhook_queue_oldest_pending_age_seconds'] ?? Number.NaN,
    openCircuits: gauges['callhook_open_circuits'] ?? Number.NaN,
  };
}

const SVG = 'http://www.w3.org/2000/svg';

/** A line chart of `values` (oldest first) scaled to their maximum. */
function chart(title: string, values: number[], unit: string): HTMLElement {
  const width = 600;
  const height = 120;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', title);
  const finite = values.filter((v) => Number.isFinite(v));
  const max = Math.max(1, ...finite);
  const step = width / Math.max(KEEP - 1, 1);
  const offset = KEEP - values.length;
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
  const stats = h('div', { class: 'stats' });
  const charts = h('div', { class: 'charts' });
  const note = h(
    'p',
    { class: 'muted' },
    'Collecting: the first rates show after two samples (5 s apart).',
  );
  const draw = () => {
    const rates = samples.slice(1).map((s, i) => {
      const before = samples[i]!;
      const seconds = (s.at - before.at) / 1000;
      const delta = (name: string) =>
        Math.max(0, (s.outcomes[name] ?? 0) - (before.outcomes[name] ?? 0));
      const succeeded = delta('succeeded');
      const failed = delta('failed');
      const retried = delta('retry');
      const attempts = succeeded + failed + retried;
      return {
        throughput: (succeeded + failed) / seconds,
        success: attempts === 0 ? Number.NaN : (100 * succeeded) / attempts,
        events: Math.max(0, s.events - before.events) / seconds,
      };
    });
    const last = samples.at(-1);
    const rate = rates.at(-1);
    if (last === undefined) return;
    const total = (name: string) => last.outcomes[name] ?? 0;
    replace(
      stats,
      stat('Deliveries done / s', rate === undefined ? '–' : formatNumber(rate.throughput)),
      stat(
        'Success rate (attempts)',
        rate === undefined || !Number.isFinite(rate.success)
          ? '–'
          : `${formatNumber(rate.success)} %`,
      ),
      stat('Events accepted / s', rate === undefined ? '–' : formatNumber(rate.events)),
      stat('Queue depth', formatNumber(last.queueDepth)),
      stat('Oldest due (s)', formatNumber(last.oldestAge)),
      stat('Open circuits', formatNumber(last.openCircuits)),
      stat('Since start: succeeded', formatNumber(total('succeeded'))),
      stat('Since start: failed', formatNumber(total('failed'))),
    );
    note.hidden = rates.length > 0;
    replace(
      charts,
      chart(
        'Throughput (deliveries done per second)',
        rates.map((r) => r.throughput),
        '/s',
      ),
      chart(
        'Success rate (% of attempts)',
        rates.map((r) => r.success),
        '%',
      ),
      chart(
        'Queue depth (pending deliveries)',
        samples.map((s) => s.queueDepth),
        '',
      ),
    );
  };
  poll(context, SAMPLE_MS, async () => {
    const response = await fetch('/metrics', { credentials: 'same-origin' });
    if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
    samples.push({ at: Date.now(), ...readMetrics(await response.text()) });
    if (samples.length > KEEP) samples.shift();
    draw();
  });
  return h(
    'section',
    { class: 'dashboard' },
    h('h1', {}, 'Dashboard'),
    h(
      'p',
      { class: 'muted' },
      'This process’s deliveries and the shared queue, sampled every 5 s while this page is open (the last ten minutes).',
    ),
    note,
    stats,
    charts,
  );
}
