/**
 * Requests per second of HttpClient (policy check, deadline, capped body, outcome) next to a
 * bare undici Agent, against the same keep-alive receiver, in the same run. The receiver runs
 * in a child process so it does not share the client's event loop.
 *
 * Target: HttpClient ≥ 0.9 × bare undici.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import ipaddr from 'ipaddr.js';
import { Agent } from 'undici';
import { HttpClient } from '../src/transport/http-client.js';
import { NetworkPolicy } from '../src/transport/network-policy.js';
import type { BenchResult } from './run.js';
import { median } from './stats.js';

const CONCURRENCY = 32;
const ROUND_MS = 2_000;
const ROUNDS = 7;

/** A keep-alive receiver that answers every request with a small JSON body, like a CRM would. */
const RECEIVER = `
const http = require('node:http');
const body = Buffer.from(JSON.stringify({ ok: true, id: 'crm-123', received: true }));
const server = http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
process.on('disconnect', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
`;

const BODY = JSON.stringify({
  status: 'answered',
  phone: '+15551234567',
  name: 'Ana',
  duration: 42,
  campaign: 'Spring',
});
const HEADERS: [string, string][] = [
  ['content-type', 'application/json'],
  ['authorization', 'Bearer 0123456789abcdef'],
  ['idempotency-key', '01890a5d-ac96-774b-bcce-b302099a8057'],
];

async function startReceiver(): Promise<{ child: ChildProcess; origin: string }> {
  const child = spawn(process.execPath, ['-e', RECEIVER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, origin: `http://127.0.0.1:${chunk.toString().trim()}` };
}

interface Round {
  /** Completed requests per second. */
  rps: number;
  /** CPU time (user + system) of this process per request, in µs: less sensitive to other load. */
  cpuUs: number;
}

/** Keeps `CONCURRENCY` requests in flight for `ROUND_MS`. */
async function round(send: () => Promise<void>): Promise<Round> {
  const end = performance.now() + ROUND_MS;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      await send();
      done += 1;
    }
  };
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const used = process.cpuUsage(cpu);
  return {
    rps: done / ((performance.now() - started) / 1000),
    cpuUs: (used.user + used.system) / done,
  };
}

export default async function transportBench(): Promise<BenchResult> {
  const { child, origin } = await startReceiver();
  const bare = new Agent({ connections: 64 });
  const client = new HttpClient({
    policy: new NetworkPolicy([{ cidr: '127.0.0.0/8', range: ipaddr.parseCIDR('127.0.0.0/8') }]),
  });
  const url = `${origin}/calls`;

  const sendBare = async (): Promise<void> => {
    const response = await bare.request({
      origin,
      path: '/calls',
      method: 'POST',
      headers: HEADERS.flat(),
      body: BODY,
    });
    await response.body.arrayBuffer();
    if (response.statusCode !== 200) throw new Error(`bare undici got ${response.statusCode}`);
  };
  const sendClient = async (): Promise<void> => {
    const outcome = await client.send({
      method: 'POST',
      url,
      headers: HEADERS,
      body: BODY,
      timeoutMs: 5_000,
    });
    if (outcome.kind !== 'response' || outcome.status !== 200) {
      throw new Error(`HttpClient got ${JSON.stringify(outcome)}`);
    }
  };

  const results = { bare: [] as Round[], client: [] as Round[] };
  try {
    // Warm-up: connections opened, code optimised, for both.
    await round(sendBare);
    await round(sendClient);
    // Interleaved rounds, so drift of a shared machine hits both alike.
    for (let i = 0; i < ROUNDS; i += 1) {
      results.bare.push(await round(sendBare));
      results.client.push(await round(sendClient));
    }
  } finally {
    await client.close();
    await bare.close();
    child.stdin?.end();
    child.kill();
  }

  const rps = (rounds: Round[]): number[] => rounds.map((r) => r.rps);
  const bareRps = median(rps(results.bare));
  const clientRps = median(rps(results.client));
  const ratio = clientRps / bareRps;
  // Each client round against the bare round just before it: robust to a machine whose load
  // drifts during the run.
  const paired = median(results.client.map((r, i) => r.rps / (results.bare[i]?.rps ?? Number.NaN)));
  const bareCpu = median(results.bare.map((r) => r.cpuUs));
  const clientCpu = median(results.client.map((r) => r.cpuUs));
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  const markdown = `
POST of a 100-byte JSON body with 3 headers to a local keep-alive receiver (node:http, in a child
process), ${CONCURRENCY} requests in flight, ${ROUNDS} interleaved rounds of ${ROUND_MS / 1000} s each after
a warm-up round; medians of the rounds.

| client | requests/s (median) | client CPU per request (median) | requests/s per round |
| --- | ---: | ---: | --- |
| bare undici \`Agent.request\` + \`body.arrayBuffer()\` | ${fmt(bareRps)} | ${bareCpu.toFixed(1)} µs | ${rps(results.bare).map(fmt).join(', ')} |
| \`HttpClient.send\` (policy-checked connect, deadline, capped body, outcome) | ${fmt(clientRps)} | ${clientCpu.toFixed(1)} µs | ${rps(results.client).map(fmt).join(', ')} |

Ratio HttpClient / bare undici: **${ratio.toFixed(2)}** of the medians, ${paired.toFixed(2)} as the median of
round-by-round ratios (target ≥ 0.90: ${Math.min(ratio, paired) >= 0.9 ? 'met' : 'NOT met'}); client CPU per
request ${(clientCpu / bareCpu).toFixed(2)} × bare undici's. The machine is shared: requests/s per round show
how much other load moved the figures; CPU per request moves less.
The policy check costs one DNS-free address check per new connection; with keep-alive it is
paid once per connection, not per request.
`;
  return { title: 'Transport: HttpClient vs bare undici', markdown };
}
