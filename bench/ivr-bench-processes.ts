/**
 * The processes and servers around bench/ivr.bench.ts: the receiver (a child process answering
 * after a fixed time), the dialer's load generator (a child process keeping N requests in
 * flight) and the bare forwarding hop (in the bench's own process, the floor of any second hop).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';

/** Answers every request after RECEIVER_MS with a small JSON body, like a balance API. */
const RECEIVER = `
const http = require('node:http');
const delay = Number(process.argv[1]);
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => setTimeout(() => {
    const body = JSON.stringify({ customer: { balance: '12.50', currency: 'EUR' } });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }, delay));
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

/**
 * The dialer: CONCURRENCY loops for ROUND_MS, each request timed; latencies (ms) after the
 * warm-up printed as JSON. Same undici client for both paths.
 */
const LOAD = `
const { Agent } = require('undici');
const spec = JSON.parse(process.argv[1]);
const agent = new Agent({ connections: spec.concurrency, keepAliveTimeout: 60000 });
const latencies = [];
let errors = 0;
let total = 0;
const start = performance.now();
const end = start + spec.warmupMs + spec.roundMs;
async function worker(index) {
  // Staggered over one receiver period: callers press keys at their own moments, not in lockstep.
  await new Promise((resolve) => setTimeout(resolve, (index * spec.staggerMs) / spec.concurrency));
  while (performance.now() < end) {
    const t0 = performance.now();
    try {
      const res = await agent.request({ origin: spec.origin, path: spec.path, method: spec.method,
        headers: spec.headers, body: spec.body });
      const text = await res.body.text();
      if (res.statusCode !== 200 || (spec.expect && !text.includes(spec.expect))) errors += 1;
    } catch { errors += 1; }
    const t1 = performance.now();
    total += 1;
    if (t0 - start >= spec.warmupMs) latencies.push(t1 - t0);
  }
}
Promise.all(Array.from({ length: spec.concurrency }, (_, i) => worker(i))).then(async () => {
  process.stdout.write(JSON.stringify({ latencies, total, errors }));
  await agent.close();
});
`;

export async function startReceiver(
  delayMs: number,
): Promise<{ child: ChildProcess; origin: string }> {
  const child = spawn(process.execPath, ['-e', RECEIVER, String(delayMs)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, origin: `http://127.0.0.1:${chunk.toString().trim()}` };
}

export interface LoadSpec {
  origin: string;
  path: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** A substring every answer must contain. */
  expect?: string;
}

/** How a load round runs: requests in flight, warm-up and measured time, start-up stagger. */
export interface LoadTiming {
  concurrency: number;
  warmupMs: number;
  roundMs: number;
  /** The loops start spread over this long (one receiver period). */
  staggerMs: number;
}

export interface Load {
  /** Latencies (ms) after the warm-up. */
  latencies: number[];
  /** Requests completed, warm-up included. */
  total: number;
}

export async function load(spec: LoadSpec, timing: LoadTiming): Promise<Load> {
  const child = spawn(process.execPath, ['-e', LOAD, JSON.stringify({ ...spec, ...timing })], {
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: process.cwd(),
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`load generator exited with ${code}`);
  const result = JSON.parse(out) as { latencies: number[]; total: number; errors: number };
  if (result.errors > 0) throw new Error(`${result.errors} requests failed on ${spec.path}`);
  return result;
}

/**
 * The floor: a bare node:http server that forwards each request to the receiver with undici and
 * answers a small JSON, no framework, auth, templates or log. What any second hop costs here.
 */
export async function startBareProxy(
  receiverOrigin: string,
): Promise<{ origin: string; close(): Promise<void> }> {
  const agent = new Agent({ connections: 256, keepAliveTimeout: 60_000 });
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      void agent
        .request({ origin: receiverOrigin, path: '/balance?account=0042', method: 'GET' })
        .then((answer) => answer.body.json())
        .then((json) => {
          const balance = (json as { customer: { balance: string } }).customer.balance;
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ outcome: 'success', variables: { balance } }));
        });
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await agent.close();
    },
  };
}
