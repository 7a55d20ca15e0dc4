/** Runs the built `callhook` binary for benchmarks and sets up an integration through its API. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { Pool } from 'undici';

const BIN = path.resolve('dist/cli/index.js');
const BENCH_KEY = '5e'.repeat(32);
/**
 * Deliveries in flight per worker process and for the bench integration. More than the HTTP
 * client's 64 connections per origin, so claims and group commits take larger batches while the
 * receiver still sees at most 64 connections per process.
 */
export const BENCH_CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 256);
export const ADMIN = { email: 'bench@callhook.local', password: 'bench-password-1' };

export interface CallhookProcess {
  child: ChildProcess;
  /** Resolves with the API URL (API processes) or when the worker started. */
  ready: Promise<string>;
  stop(): Promise<void>;
}

export function startCallhook(args: string[], env: Record<string, string>): CallhookProcess {
  const child = spawn(
    process.execPath,
    [...(process.env['BENCH_NODE_ARGS']?.split(' ').filter(Boolean) ?? []), BIN, 'serve', ...args],
    {
      env: {
        PATH: process.env['PATH'] ?? '',
        CALLHOOK_PORT: '0',
        CALLHOOK_LOG_LEVEL: 'info',
        CALLHOOK_ADMIN_EMAIL: ADMIN.email,
        CALLHOOK_ADMIN_PASSWORD: ADMIN.password,
        CALLHOOK_ALLOW_NETWORKS: '127.0.0.0/8',
        // One key for every process of a run (required on PostgreSQL).
        CALLHOOK_SECRET_KEY: BENCH_KEY,
        CALLHOOK_WORKER_CONCURRENCY:
          process.env['BENCH_WORKER_CONCURRENCY'] ?? String(BENCH_CONCURRENCY),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const ready = new Promise<string>((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`callhook exited with ${code}`)));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'callhook listening') resolve(entry.url!);
        if (
          entry.msg === 'delivery worker started' &&
          args.includes('--worker') &&
          !args.includes('--api')
        )
          resolve('');
      } catch {
        // not a log line
      }
    });
  });
  return {
    child,
    ready,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/** A small JSON client of the Callhook API. */
export class ApiClient {
  private readonly pool: Pool;
  headers: Record<string, string> = { 'content-type': 'application/json' };

  constructor(readonly url: string) {
    this.pool = new Pool(url, { connections: 8 });
  }

  async call<T>(
    method: string,
    route: string,
    body?: unknown,
  ): Promise<{ status: number; json: T }> {
    const res = await this.pool.request({
      method: method as 'POST',
      path: route,
      headers: this.headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.body.text();
    return { status: res.statusCode, json: (text === '' ? undefined : JSON.parse(text)) as T };
  }

  /** Signs in as the bench admin and switches to an API key. */
  async signIn(): Promise<void> {
    const login = await this.pool.request({
      method: 'POST',
      path: '/api/v1/auth/login',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ADMIN),
    });
    await login.body.text();
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    const key = await this.pool.request({
      method: 'POST',
      path: '/api/v1/api-keys',
      headers: { 'content-type': 'application/json', cookie, origin: this.url },
      body: JSON.stringify({ name: 'bench' }),
    });
    const { key: secret } = (await key.body.json()) as { key: string };
    this.headers = { 'content-type': 'application/json', authorization: `Bearer ${secret}` };
  }

  /** An HTTP integration to `receiverOrigin` bound to a new campaign on `call.ended`; the campaign id. */
  async setUpIntegration(receiverOrigin: string, options: object = {}): Promise<string> {
    const integration = await this.call<{ id: string }>('POST', '/api/v1/integrations', {
      name: 'bench CRM',
      type: 'http',
      config: {
        url: `${receiverOrigin}/calls?phone={{contact.phone}}`,
        method: 'POST',
        headers: 'Content-Type: application/json\nAuthorization: Bearer 0123456789abcdef',
        body: '{"status": "{{call.status}}", "phone": "{{contact.phone}}", "name": "{{contact.firstName}}", "duration": {{call.duration | json}}, "campaign": "{{campaign.name}}"}',
      },
      options: { maxConcurrency: BENCH_CONCURRENCY, ...options },
    });
    if (integration.status !== 201)
      throw new Error(`integration: ${JSON.stringify(integration.json)}`);
    const campaignId = `bench-${Date.now()}`;
    await this.call('POST', '/api/v1/campaigns', { id: campaignId, name: 'Bench', type: 'voice' });
    await this.call('PUT', `/api/v1/campaigns/${campaignId}/bindings`, {
      bindings: [{ integrationId: integration.json.id, on: ['call.ended'] }],
    });
    return campaignId;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

export function benchEvents(campaignId: string, from: number, count: number): object[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `ev-${from + i}`,
    type: 'call.ended',
    occurredAt: '2026-11-27T10:00:00Z',
    campaignId,
    call: { id: `call-${from + i}`, phone: '+15551234567', status: 'answered', duration: 42 },
    contact: { id: `k-${from + i}`, phone: '+15551234567', firstName: 'Ana' },
  }));
}
