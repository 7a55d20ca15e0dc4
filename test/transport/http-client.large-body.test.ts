import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_BODY_BYTES,
  HttpClient,
  type HttpOutcome,
} from '../../src/transport/http-client.js';
import { policyOpening, startServer, type TestServer } from './servers.js';

const MB = 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 'a');

/** Writes `total` bytes with backpressure, reusing one chunk: the server itself holds ~64 KiB. */
function stream(response: http.ServerResponse, total: number, chunked = false): void {
  response.on('error', () => undefined);
  response.writeHead(200, chunked ? {} : { 'content-length': String(total) });
  let sent = 0;
  const pump = (): void => {
    while (sent < total) {
      const size = Math.min(CHUNK.length, total - sent);
      sent += size;
      if (!response.write(size === CHUNK.length ? CHUNK : CHUNK.subarray(0, size))) {
        response.once('drain', pump);
        return;
      }
    }
    response.end();
  };
  pump();
}

let server: TestServer;

/** Runs `fn` while sampling RSS; answers how far RSS rose above its start at the peak. */
async function peakRssGrowth(fn: () => Promise<void>): Promise<number> {
  const start = process.memoryUsage().rss;
  let peak = start;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  try {
    await fn();
  } finally {
    clearInterval(sampler);
  }
  return Math.max(peak, process.memoryUsage().rss) - start;
}

beforeAll(async () => {
  server = await startServer((request, response) => {
    const size = Number(new URL(request.url ?? '/', 'http://x').searchParams.get('bytes'));
    stream(response, size, request.url?.includes('chunked') === true);
  });
});
afterAll(async () => {
  await server.close();
});

describe('HttpClient caps response bodies', () => {
  it('keeps 64 KiB of a 100 MB response and drops the connection after the drain limit', async () => {
    // One connection per origin, so "reused" and "new" connections are plain to count.
    const client = new HttpClient({
      policy: policyOpening('127.0.0.0/8'),
      connectionsPerOrigin: 1,
    });
    try {
      let outcome: HttpOutcome | undefined;
      const started = performance.now();
      const growth = await peakRssGrowth(async () => {
        outcome = await client.send({
          method: 'GET',
          url: `${server.origin}/?bytes=${100 * MB}`,
          headers: [],
          timeoutMs: 10_000,
        });
      });
      expect(outcome).toMatchObject({ kind: 'response', status: 200, bodyTruncated: true });
      if (outcome?.kind !== 'response') return;
      expect(outcome.body.length).toBe(DEFAULT_MAX_BODY_BYTES);
      expect(outcome.body.every((byte) => byte === 0x61)).toBe(true);
      // Read up to the kept part plus the 1 MiB drain limit (give or take one chunk), not 100 MB.
      expect(outcome.bodyBytes).toBeGreaterThan(MB);
      expect(outcome.bodyBytes).toBeLessThan(2 * MB);
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(growth).toBeLessThan(30 * MB);

      // The dropped connection is not reused: the next request opens a new one.
      const before = server.connections();
      await client.send({
        method: 'GET',
        url: `${server.origin}/?bytes=10`,
        headers: [],
        timeoutMs: 5_000,
      });
      expect(server.connections()).toBe(before + 1);
    } finally {
      await client.close();
    }
  });

  it('reads a whole 300 MB chunked response through with flat memory when the drain limit allows it', async () => {
    const client = new HttpClient({
      policy: policyOpening('127.0.0.0/8'),
      maxDrainBytes: 400 * MB,
    });
    try {
      let outcome: HttpOutcome | undefined;
      const growth = await peakRssGrowth(async () => {
        outcome = await client.send({
          method: 'GET',
          url: `${server.origin}/chunked?bytes=${300 * MB}`,
          headers: [],
          timeoutMs: 20_000,
        });
      });
      expect(outcome).toMatchObject({ kind: 'response', bodyTruncated: true, bodyBytes: 300 * MB });
      if (outcome?.kind === 'response') expect(outcome.body.length).toBe(DEFAULT_MAX_BODY_BYTES);
      // Socket reads leave garbage chunks until the collector runs (some tens of MB, whatever
      // the size); keeping the body would add 300 MB.
      expect(growth).toBeLessThan(100 * MB);
    } finally {
      await client.close();
    }
  });

  it('drains a body under the drain limit and reuses the connection', async () => {
    const client = new HttpClient({
      policy: policyOpening('127.0.0.0/8'),
      connectionsPerOrigin: 1,
    });
    try {
      const first = await client.send({
        method: 'GET',
        url: `${server.origin}/?bytes=500000`,
        headers: [],
        timeoutMs: 5_000,
      });
      expect(first).toMatchObject({ kind: 'response', bodyTruncated: true, bodyBytes: 500_000 });
      const before = server.connections();
      const second = await client.send({
        method: 'GET',
        url: `${server.origin}/?bytes=100`,
        headers: [],
        timeoutMs: 5_000,
      });
      expect(second).toMatchObject({ kind: 'response', bodyTruncated: false, bodyBytes: 100 });
      expect(server.connections()).toBe(before);
    } finally {
      await client.close();
    }
  });

  it('honours a smaller cap', async () => {
    const client = new HttpClient({ policy: policyOpening('127.0.0.0/8'), maxBodyBytes: 10 });
    try {
      const outcome = await client.send({
        method: 'GET',
        url: `${server.origin}/?bytes=11`,
        headers: [],
        timeoutMs: 5_000,
      });
      expect(outcome).toMatchObject({ kind: 'response', bodyTruncated: true, bodyBytes: 11 });
      if (outcome.kind === 'response') expect(outcome.body.toString()).toBe('aaaaaaaaaa');
    } finally {
      await client.close();
    }
  });
});
