import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cliWith,
  startProcess,
  until,
  userWithKey,
  type ServiceProcess,
} from '../helpers/process.js';
import { startServer, type TestServer } from '../transport/servers.js';

const run = promisify(execFile);
const BIN = path.resolve('dist/cli/index.js');

describe('callhook simulate', () => {
  let service: ServiceProcess | undefined;
  let receiver: TestServer | undefined;
  let dataDir: string | undefined;
  afterEach(async () => {
    await service?.stop('SIGKILL');
    await receiver?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('plays a dialer: call lifecycles posted, accepted, and delivered to the bound integration', async () => {
    let delivered = 0;
    receiver = await startServer((req, res) => {
      req.resume();
      req.on('end', () => {
        delivered += 1;
        res.writeHead(200).end();
      });
    });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'callhook-sim-'));
    const env = {
      PATH: process.env['PATH'] ?? '',
      CALLHOOK_DATA_DIR: dataDir,
      CALLHOOK_LOG_LEVEL: 'warn',
    };
    const cli = cliWith(env);
    const key = await userWithKey(cli, 'dialer@example.com', 'dialer-password', [
      '--grant',
      'integration',
      'campaign',
      'event_ingest',
    ]);
    service = startProcess(['serve'], {
      CALLHOOK_DATA_DIR: dataDir,
      CALLHOOK_ALLOW_NETWORKS: '127.0.0.0/8',
    });
    const url = await service.listening;
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const integration = (await (
      await fetch(`${url}/api/v1/integrations`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          name: 'CRM',
          type: 'http',
          config: { url: `${receiver.origin}/calls/{{call.id}}`, body: '{{call.status}}' },
        }),
      })
    ).json()) as { id: string };
    await fetch(`${url}/api/v1/campaigns`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ id: 'demo', name: 'Demo', type: 'voice' }),
    });
    await fetch(`${url}/api/v1/campaigns/demo/bindings`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ bindings: [{ integrationId: integration.id, on: ['call.ended'] }] }),
    });

    const { stdout } = await cli(
      'simulate',
      '--url',
      url,
      '--key',
      key,
      '--campaign',
      'demo',
      '--calls',
      '40',
      '--rate',
      '0',
      '--batch',
      '15',
      '--lifecycle',
    );
    const match =
      /^40 calls, (\d+) events in [\d.]+ s: (\d+) accepted, 0 duplicates, 0 rejected\n$/.exec(
        stdout,
      );
    expect(match, stdout).not.toBeNull();
    expect(Number(match![2])).toBe(Number(match![1]));
    expect(Number(match![1])).toBeGreaterThanOrEqual(80);
    await until(() => delivered >= 40, 10_000);
    expect(delivered).toBe(40);

    // Ctrl-C (or SIGTERM) ends a long run after the request in flight, with its report.
    const long = spawn(
      process.execPath,
      [BIN, 'simulate', '--url', url, '--key', key, '--campaign', 'demo', '--calls', '1000000'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    long.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    long.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => long.on('exit', resolve));
    expect(code).toBe(0);
    expect(out).toMatch(/^\d+ calls, \d+ events in [\d.]+ s: .* \(stopped by a signal\)\n$/);

    await expect(
      cli('simulate', '--key', key, '--campaign', 'demo', '--calls', 'many'),
    ).rejects.toMatchObject({
      code: 2,
      stderr: 'callhook: --calls must be a number ≥ 1, got "many"\n',
    });
  });

  it('reports what went out, then says in one line why it stopped: the service unreachable, or a batch refused', async () => {
    const env = { PATH: process.env['PATH'] ?? '' };
    const cli = (...args: string[]) => run(process.execPath, [BIN, 'simulate', ...args], { env });
    let batches = 0;
    let rejectAll = false;
    receiver = await startServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        batches += 1;
        const { events } = JSON.parse(body) as { events: { id: string }[] };
        if (rejectAll) {
          const rejected = events.map((e, index) => ({
            id: e.id,
            index,
            error: 'unknown campaign nope',
            field: 'campaignId',
          }));
          return void res
            .writeHead(202, { 'content-type': 'application/json' })
            .end(JSON.stringify({ accepted: [], duplicates: [], rejected }));
        }
        if (batches > 1) return void res.writeHead(401).end('{"error":{"code":"UNAUTHENTICATED"}}');
        res
          .writeHead(202, { 'content-type': 'application/json' })
          .end(JSON.stringify({ accepted: events.map((e) => e.id), duplicates: [], rejected: [] }));
      });
    });
    const refused = cli(
      '--url',
      receiver.origin,
      '--key',
      'k',
      '--campaign',
      'demo',
      '--batch',
      '20',
      '--rate',
      '0',
    );
    await expect(refused).rejects.toMatchObject({
      code: 1,
      stdout: expect.stringMatching(
        /^20 calls, 20 events in [\d.]+ s: 20 accepted, 0 duplicates, 0 rejected\n$/,
      ),
      stderr: 'callhook: the service answered 401: {"error":{"code":"UNAUTHENTICATED"}}\n',
    });

    // Events the service rejects (an unknown campaign): the first such batch ends the run with
    // the reason, as every later batch would be rejected alike.
    batches = 0;
    rejectAll = true;
    const unknown = cli('--url', receiver.origin, '--key', 'k', '--campaign', 'nope');
    await expect(unknown).rejects.toMatchObject({
      code: 1,
      stdout: expect.stringMatching(
        /^50 calls, 50 events in [\d.]+ s: 0 accepted, 0 duplicates, 50 rejected\n$/,
      ),
      stderr:
        'callhook: the service rejected 50 of the 50 events of a batch: campaignId: unknown campaign nope\n',
    });
    expect(batches).toBe(1);

    const origin = receiver.origin;
    await receiver.close();
    receiver = undefined;
    await expect(cli('--url', origin, '--key', 'k', '--campaign', 'demo')).rejects.toMatchObject({
      code: 1,
      stdout: expect.stringMatching(/^0 calls, 0 events in [\d.]+ s: 0 accepted/),
      stderr: expect.stringMatching(
        new RegExp(`^callhook: cannot reach the service at ${origin}: .*ECONNREFUSED.*\n$`),
      ),
    });
  });

  it('refuses a --url that is not an http(s) origin, naming it, before sending anything', async () => {
    const env = { PATH: process.env['PATH'] ?? '' };
    const cli = (...args: string[]) =>
      run(process.execPath, [BIN, 'simulate', '--key', 'k', '--campaign', 'demo', ...args], {
        env,
      });
    for (const url of ['notaurl', '127.0.0.1:8080', 'ftp://127.0.0.1:8080', 'http://h/callhook']) {
      await expect(cli('--url', url), url).rejects.toMatchObject({
        code: 2,
        stdout: '',
        stderr: expect.stringMatching(
          new RegExp(`^callhook: --url must be .*http.*, got "${url.replace(/[.]/g, '\\.')}"\n$`),
        ),
      });
    }
  });
});
