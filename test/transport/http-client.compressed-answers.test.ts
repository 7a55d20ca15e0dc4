/**
 * An answer sent with a `Content-Encoding` (gzip, x-gzip, deflate with or without its zlib
 * wrapper, br) is decoded before it is kept: `body` holds the decoded bytes, capped at
 * `maxBodyBytes` decoded, and `bodyBytes` counts the bytes as sent. A zip bomb (a megabyte that
 * inflates to a gigabyte) costs the kept 64 KiB and some milliseconds. An encoding Callhook
 * does not decode, or data that is not what its encoding says, gives `bodyError` instead of a
 * body of compressed bytes.
 */
import crypto from 'node:crypto';
import type http from 'node:http';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_BODY_BYTES,
  HttpClient,
  type HttpOutcome,
  type ResponseOutcome,
} from '../../src/transport/http-client.js';
import { policyOpening, startServer, type TestServer } from './servers.js';

const MB = 1024 * 1024;
const JSON_TEXT = JSON.stringify({ customer: { balance: '12.50', city: 'Montréal' } });
/** 300 KiB of text: decoded, more than the 64 KiB kept. */
const LONG_TEXT = Array.from({ length: 20_000 }, (_, i) => `line ${i}\n`).join('');
/** Random bytes do not compress: their gzip is as long as they are. */
const RANDOM = crypto.randomBytes(2 * MB);

/** 1 GiB of zeros as 100 concatenated gzip members of 10 MiB each (about 1 MB sent). */
function gzipBomb(): Buffer {
  const member = zlib.gzipSync(Buffer.alloc(10 * MB), { level: 9 });
  return Buffer.concat(Array.from({ length: 100 }, () => member));
}

/** 256 MiB of zeros in one brotli stream (about 50 KB sent). */
async function brotliBomb(): Promise<Buffer> {
  const encoder = zlib.createBrotliCompress({
    params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 },
  });
  const chunks: Buffer[] = [];
  encoder.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise((resolve) => encoder.once('end', resolve));
  const zeros = Buffer.alloc(16 * MB);
  for (let i = 0; i < 16; i += 1) {
    if (!encoder.write(zeros)) await new Promise((resolve) => encoder.once('drain', resolve));
  }
  encoder.end();
  await ended;
  return Buffer.concat(chunks);
}

let bombs: { gzip: Buffer; br: Buffer };

type Answer = { encoding: string; body: Buffer; type?: string };
let cases: Record<string, Answer>;

/** `/<case>`: the answer's Content-Encoding and bytes. */
function answers(): Record<string, Answer> {
  return {
    gzip: { encoding: 'gzip', body: zlib.gzipSync(JSON_TEXT) },
    'x-gzip': { encoding: 'x-gzip', body: zlib.gzipSync(JSON_TEXT) },
    'upper-gzip': { encoding: 'GZIP', body: zlib.gzipSync(JSON_TEXT) },
    deflate: { encoding: 'deflate', body: zlib.deflateSync(JSON_TEXT) },
    'raw-deflate': { encoding: 'deflate', body: zlib.deflateRawSync(JSON_TEXT) },
    br: { encoding: 'br', body: zlib.brotliCompressSync(JSON_TEXT) },
    identity: { encoding: 'identity', body: Buffer.from(JSON_TEXT) },
    long: { encoding: 'gzip', body: zlib.gzipSync(LONG_TEXT), type: 'text/plain' },
    random: { encoding: 'gzip', body: zlib.gzipSync(RANDOM, { level: 1 }) },
    'gzip-bomb': { encoding: 'gzip', body: bombs.gzip },
    'br-bomb': { encoding: 'br', body: bombs.br },
    zstd: { encoding: 'zstd', body: crypto.randomBytes(64) },
    'gzip-then-br': {
      encoding: 'gzip, br',
      body: zlib.brotliCompressSync(zlib.gzipSync(JSON_TEXT)),
    },
    'not-gzip': { encoding: 'gzip', body: Buffer.from(JSON_TEXT) },
    'cut-gzip': { encoding: 'gzip', body: zlib.gzipSync(LONG_TEXT).subarray(0, 2000) },
  };
}

let server: TestServer;
let client: HttpClient;

beforeAll(async () => {
  bombs = { gzip: gzipBomb(), br: await brotliBomb() };
  cases = answers();
  server = await startServer((request: http.IncomingMessage, response: http.ServerResponse) => {
    response.on('error', () => undefined);
    const name = new URL(request.url ?? '/', 'http://x').pathname.slice(1);
    const answer = cases[name];
    if (answer === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, {
      'content-type': answer.type ?? 'application/json',
      'content-encoding': answer.encoding,
      'content-length': String(answer.body.length),
    });
    response.end(request.method === 'HEAD' ? undefined : answer.body);
  });
  client = new HttpClient({ policy: policyOpening('127.0.0.0/8'), connectionsPerOrigin: 1 });
});
afterAll(async () => {
  await client?.close();
  await server?.close();
});

async function get(name: string, method = 'GET', target = client): Promise<ResponseOutcome> {
  const outcome: HttpOutcome = await target.send({
    method,
    url: `${server.origin}/${name}`,
    headers: [['accept-encoding', 'gzip, deflate, br']],
    timeoutMs: 10_000,
  });
  if (outcome.kind !== 'response') throw new Error(`${name}: ${JSON.stringify(outcome)}`);
  return outcome;
}

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

describe('HttpClient decodes compressed answers', () => {
  it.each(['gzip', 'x-gzip', 'upper-gzip', 'deflate', 'raw-deflate', 'br', 'identity'])(
    'keeps the decoded body of a %s answer',
    async (name) => {
      const outcome = await get(name);
      expect(outcome.body.toString('utf8')).toBe(JSON_TEXT);
      expect(outcome.bodyTruncated).toBe(false);
      expect(outcome.bodyBytes).toBe(cases[name]!.body.length);
      expect(outcome.bodyError).toBeUndefined();
      // The headers are the ones received.
      expect(outcome.headers).toContainEqual(['content-encoding', cases[name]!.encoding]);
    },
  );

  it('keeps the first 64 KiB of the decoded body, cut on the decoded size', async () => {
    const outcome = await get('long');
    expect(outcome.body.toString('utf8')).toBe(LONG_TEXT.slice(0, DEFAULT_MAX_BODY_BYTES));
    expect(outcome.bodyTruncated).toBe(true);
    expect(outcome.bodyBytes).toBeLessThan(DEFAULT_MAX_BODY_BYTES);
  });

  it.each(['gzip-bomb', 'br-bomb'])(
    'inflates no more of a %s than it keeps: 64 KiB, flat memory, at once',
    async (name) => {
      let outcome: ResponseOutcome | undefined;
      const started = performance.now();
      const growth = await peakRssGrowth(async () => {
        outcome = await get(name);
      });
      expect(outcome).toMatchObject({ bodyTruncated: true });
      expect(outcome!.bodyError).toBeUndefined();
      expect(outcome!.body.length).toBe(DEFAULT_MAX_BODY_BYTES);
      expect(outcome!.body.every((byte) => byte === 0)).toBe(true);
      // Inflating all of it takes seconds (7 s for the gigabyte of gzip here), and kept, memory.
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(growth).toBeLessThan(30 * MB);
    },
  );

  it('keeps what was decoded when the drain limit cuts a compressed answer', async () => {
    // Random bytes inflate to about what they were: 1 MiB kept, the answer dropped past it.
    const big = new HttpClient({
      policy: policyOpening('127.0.0.0/8'),
      maxBodyBytes: MB,
      maxDrainBytes: 0,
    });
    try {
      const outcome = await get('random', 'GET', big);
      expect(outcome.bodyTruncated).toBe(true);
      expect(outcome.bodyError).toBeUndefined();
      expect(outcome.body.length).toBeGreaterThan(0.9 * MB);
      expect(outcome.body.equals(RANDOM.subarray(0, outcome.body.length))).toBe(true);
    } finally {
      await big.close();
    }
  });

  it('says the body is in an encoding it does not decode, and keeps none of it', async () => {
    const zstd = await get('zstd');
    expect(zstd).toMatchObject({ status: 200, bodyTruncated: true, bodyBytes: 64 });
    expect(zstd.body.length).toBe(0);
    expect(zstd.bodyError).toBe(
      'the body is in Content-Encoding "zstd", which Callhook does not decode (one of gzip, deflate and br only)',
    );
    const both = await get('gzip-then-br');
    expect(both.body.length).toBe(0);
    expect(both.bodyError).toMatch(/^the body is in more than one Content-Encoding "gzip, br"/);
  });

  it('says the body is not what its encoding says, keeping what did decode', async () => {
    const notGzip = await get('not-gzip');
    expect(notGzip.body.length).toBe(0);
    expect(notGzip.bodyError).toBe(
      'the body is not valid gzip data (Content-Encoding: gzip): incorrect header check',
    );
    const cut = await get('cut-gzip');
    expect(cut.bodyError).toBe(
      'the body is not valid gzip data (Content-Encoding: gzip): unexpected end of file',
    );
    expect(cut.bodyTruncated).toBe(true);
    expect(cut.body.length).toBeGreaterThan(0);
    expect(LONG_TEXT.startsWith(cut.body.toString('utf8'))).toBe(true);
  });

  it('answers a HEAD with a Content-Encoding and no body with an empty body', async () => {
    // undici closes a connection after a HEAD: a client of its own keeps the others' pool.
    const own = new HttpClient({ policy: policyOpening('127.0.0.0/8') });
    try {
      for (const name of ['gzip', 'zstd']) {
        const outcome = await get(name, 'HEAD', own);
        expect(outcome).toMatchObject({ status: 200, bodyTruncated: false, bodyBytes: 0 });
        expect(outcome.body.length).toBe(0);
        expect(outcome.bodyError).toBeUndefined();
      }
    } finally {
      await own.close();
    }
  });

  it('reuses the connection after a compressed answer', async () => {
    await get('gzip');
    const before = server.connections();
    await get('gzip-bomb');
    await get('not-gzip');
    await get('br');
    expect(server.connections()).toBe(before);
  });
});
