/**
 * A campaign's per-contact results as CSV (`GET /campaigns/:id/results?format=csv`): a header row,
 * RFC 4180 quoting of separators, quotes and line ends, cells a spreadsheet would run as formulas
 * neutralized (phone numbers left as they are), the same rows as the JSON pages; and a run of
 * 100,000 contacts starts, reports and exports in bounded time, the export streamed in chunks.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { createCampaignRig, expectAddsUp, until, type Rig } from './campaign-fixtures.js';
import { parseCsv } from '../../src/domain/csv.js';

const HEADER =
  'contactId,phone,firstName,lastName,email,status,attempts,lastStatus,lastError,deliveryId,completedAt';

describe.each(DIALECTS)('campaign results as CSV on %s', (backend) => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('quotes and neutralizes cells, and holds the same rows as the JSON pages', async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    const tricky = [
      'Ana, Maria',
      'say "hi"',
      'two\nlines',
      '=HYPERLINK("http://evil.example","x")',
      '+cmd|" /C calc"!A0',
      '-2+3+cmd',
      '@SUM(A1:A2)',
      '+1 (555) 123-4567',
      'Zoë 😀',
    ];
    const listId = await r.list(tricky.length, (i) => ({
      firstName: tricky[i],
      lastName: '-12.5',
    }));
    // A 4xx is a failure with a reason; the others succeed.
    r.respond = (res, request) => {
      const failing = request.body.includes('"k-1"');
      res.writeHead(failing ? 422 : 200).end(failing ? 'no' : 'ok');
    };
    const id = await r.campaign(listId, 50);
    r.startWorkers();
    await r.act(id, 'start');
    await until(async () => (await r.read(id)).state === 'completed', 10_000, 'completion');

    const exported = await r.call('GET', `/api/v1/campaigns/${id}/results?format=csv`);
    expect(exported.statusCode, exported.body).toBe(200);
    expect(exported.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(exported.headers['content-disposition']).toBe(
      `attachment; filename="campaign-${id}-results.csv"`,
    );
    expect(exported.body.startsWith(`${HEADER}\r\n`)).toBe(true);
    expect(exported.body.endsWith('\r\n')).toBe(true);
    const parsed = parseCsv(exported.body);
    if (!('records' in parsed)) throw new Error(JSON.stringify(parsed.problem));
    const [header, ...rows] = parsed.records.map((record) => record.cells);
    expect(header).toEqual(HEADER.split(','));
    const json = (await r.call('GET', `/api/v1/campaigns/${id}/results?limit=500`)).json<{
      items: Record<string, string | number | null>[];
    }>().items;
    expect(rows).toHaveLength(tricky.length);
    rows.forEach((cells, index) => {
      const item = json[index]!;
      const expected = header!.map((column) => {
        const value = item[column];
        return value === null || value === undefined ? '' : String(value);
      });
      // Formula-like cells come back with a leading ' and nothing else changed.
      const shown = expected.map((value) =>
        /^[=+\-@\t\r]/.test(value) && !/^[+-]?\d[\d ().,-]*$/.test(value) ? `'${value}` : value,
      );
      expect(cells, `row ${index + 1}`).toEqual(shown);
    });
    expect(rows.map((cells) => cells[2])).toEqual([
      'Ana, Maria',
      'say "hi"',
      'two\nlines',
      `'=HYPERLINK("http://evil.example","x")`,
      `'+cmd|" /C calc"!A0`,
      `'-2+3+cmd`,
      `'@SUM(A1:A2)`,
      '+1 (555) 123-4567',
      'Zoë 😀',
    ]);
    // Numbers and phone numbers are left as they are.
    expect(rows[0]![1]).toBe('+15550000000');
    expect(rows[0]![3]).toBe('-12.5');
    expect(rows[1]![5]).toBe('failed');
    expect(rows[1]![7]).toBe('422');
    const failed = await r.call('GET', `/api/v1/campaigns/${id}/results?format=csv&status=failed`);
    expect(failed.body.split('\r\n').filter(Boolean)).toHaveLength(2);
  }, 30_000);

  it('starts, reports and exports a run of 100,000 contacts in bounded time, streamed', async () => {
    rig = await createCampaignRig(backend);
    const r = rig;
    const times: Record<string, number> = {};
    let t0 = Date.now();
    const listId = await r.list(100_000);
    times['import'] = Date.now() - t0;
    const id = await r.campaign(listId, 2);
    r.startWorkers();
    t0 = Date.now();
    const started = await r.act(id, 'start');
    times['start'] = Date.now() - t0;
    expect(times['start'], 'start').toBeLessThan(2_000);
    expect(started.progress.total).toBe(100_000);
    await until(() => r.received.length >= 2, 5_000, 'two requests');
    t0 = Date.now();
    const running = await r.read(id);
    times['progress'] = Date.now() - t0;
    expect(times['progress'], 'progress').toBeLessThan(1_000);
    expectAddsUp(running.progress);
    await r.act(id, 'stop');
    t0 = Date.now();
    const page = await r.call(
      'GET',
      `/api/v1/campaigns/${id}/results?status=cancelled&cursor=90000&limit=100`,
    );
    times['page'] = Date.now() - t0;
    expect(times['page'], 'a page of results').toBeLessThan(1_000);
    expect(page.json<{ items: unknown[] }>().items).toHaveLength(100);
    await r.stopWorkers();

    // Over a real socket: the export comes chunked, many chunks, no Content-Length.
    await r.t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = r.t.app.server.address() as AddressInfo;
    t0 = Date.now();
    const answer = await new Promise<{
      headers: http.IncomingHttpHeaders;
      chunks: number;
      lines: number;
    }>((resolve, reject) => {
      http
        .get(
          {
            host: '127.0.0.1',
            port,
            path: `/api/v1/campaigns/${id}/results?format=csv`,
            headers: r.user.headers,
          },
          (res) => {
            let chunks = 0;
            let lines = 0;
            res.on('data', (chunk: Buffer) => {
              chunks += 1;
              for (const byte of chunk) if (byte === 10) lines += 1;
            });
            res.on('end', () => resolve({ headers: res.headers, chunks, lines }));
            res.on('error', reject);
          },
        )
        .on('error', reject);
    });
    times['export'] = Date.now() - t0;
    process.stdout.write(`100,000 contacts on ${backend} (ms): ${JSON.stringify(times)}\n`);
    expect(times['export'], 'the export').toBeLessThan(20_000);
    expect(answer.headers['transfer-encoding']).toBe('chunked');
    expect(answer.headers['content-length']).toBeUndefined();
    expect(answer.lines).toBe(100_001);
    expect(answer.chunks).toBeGreaterThanOrEqual(100);
  }, 120_000);
});
