/**
 * Real SOAP servers for the SOAP tests, on 127.0.0.1 port 0, started and stopped by the test:
 * - PHP's SoapServer (ext-soap, C, unrelated to the node `soap` package), from Debian's
 *   `php-cli` and `php-soap`;
 * - the node `soap` package's own server;
 * - a plain file server for WSDL documents, with switches to make them fail.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as soap from 'soap';
import { loadConfig } from '../../src/config.js';
import { NetworkPolicy } from '../../src/transport/network-policy.js';

export const FIXTURES = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../fixtures/soap',
);

/** The tests' servers are on loopback, which the default policy refuses. */
export const LOOPBACK_POLICY = new NetworkPolicy(
  loadConfig({ CALLHOOK_ALLOW_NETWORKS: '127.0.0.0/8' }).allowNetworks,
);

export function fixture(name: string, base: string): string {
  return fs.readFileSync(path.join(FIXTURES, name), 'utf8').replaceAll('__BASE__', base);
}

export const PHP_INSTALL = 'apt-get update && apt-get install -y php-cli php-soap';

/** Fails with the command to run when PHP or its SOAP extension is missing. */
export function requirePhpSoap(): void {
  const probe = spawnSync('php', ['-m'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error(
      `the SOAP tests need the PHP CLI (not found: ${String(probe.error ?? probe.stderr)}); install it with: ${PHP_INSTALL}`,
    );
  }
  if (!/^soap$/m.test(probe.stdout)) {
    throw new Error(
      `the SOAP tests need PHP's soap extension (php -m does not list it); install it with: ${PHP_INSTALL}`,
    );
  }
}

export interface PhpRecord {
  operation: string;
  args: unknown;
  soapAction: string | null;
  contentType: string | null;
}

export interface PhpSoapServer {
  base: string;
  /** Every call PHP decoded, in order. */
  records(): PhpRecord[];
  close(): Promise<void>;
}

export async function startPhpSoapServer(): Promise<PhpSoapServer> {
  requirePhpSoap();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'callhook-php-soap-'));
  const record = path.join(dir, 'record.jsonl');
  const child: ChildProcess = spawn(
    'php',
    ['-d', 'soap.wsdl_cache_enabled=0', '-S', '127.0.0.1:0', path.join(FIXTURES, 'php/router.php')],
    {
      cwd: FIXTURES,
      env: { ...process.env, SOAP_RECORD: record },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const base = await new Promise<string>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /\((http:\/\/127\.0\.0\.1:\d+)\) started/.exec(output);
      if (match) resolve(match[1] as string);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`php -S exited (${String(code)}): ${output}`)));
    child.once('error', reject);
  });
  return {
    base,
    records() {
      if (!fs.existsSync(record)) return [];
      return fs
        .readFileSync(record, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as PhpRecord);
    },
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface NodeCall {
  service: string;
  operation: string;
  args: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
  soapHeaders: unknown;
  /** The request body as received (the envelope). */
  body: string;
}

export interface NodeSoapServer {
  base: string;
  calls: NodeCall[];
  close(): Promise<void>;
}

/**
 * A request that keeps its body as received: the soap package reads the body itself and keeps
 * only what it parsed, and takes over the server's `request` listeners.
 */
class RecordedRequest extends http.IncomingMessage {
  readonly chunks: Buffer[] = [];

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (Buffer.isBuffer(chunk)) this.chunks.push(chunk);
    return super.push(chunk, encoding);
  }
}

/**
 * The node `soap` package's server with the .NET-style service (`/dotnet`) and the rpc/literal
 * one (`/rpc-literal`). `Slow` answers after `ms` milliseconds; `Fail` faults.
 */
export async function startNodeSoapServer(): Promise<NodeSoapServer> {
  const calls: NodeCall[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer({ IncomingMessage: RecordedRequest });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  type Handler = (
    args: Record<string, unknown>,
    callback: unknown,
    headers: unknown,
    req: http.IncomingMessage,
  ) => unknown;
  const note =
    (
      service: string,
      operation: string,
      handler: (args: Record<string, unknown>) => unknown,
    ): Handler =>
    (args, _callback, soapHeaders, req) => {
      const body = Buffer.concat((req as RecordedRequest).chunks).toString('utf8');
      calls.push({ service, operation, args, headers: req.headers, soapHeaders, body });
      return handler(args);
    };
  const tickets = {
    CreateTicket: note('dotnet', 'CreateTicket', (args) => ({
      CreateTicketResult: { TicketId: 'NODE-1', Received: JSON.stringify(args) },
    })),
    GetBalance: note('dotnet', 'GetBalance', () => ({ GetBalanceResult: '12.50' })),
    Fail: note('dotnet', 'Fail', (args) => {
      throw args['kind'] === 'client'
        ? { Fault: { faultcode: 'soap:Client', faultstring: 'account number is not valid' } }
        : { Fault: { faultcode: 'soap:Server', faultstring: 'database is down, try later' } };
    }),
    Slow: note(
      'dotnet',
      'Slow',
      (args) =>
        new Promise((resolve) => {
          const timer = setTimeout(() => {
            timers.delete(timer);
            resolve({ SlowResult: 'done' });
          }, Number(args['ms']));
          timers.add(timer);
        }),
    ),
  };
  soap.listen(server, {
    path: '/dotnet',
    services: { Tickets: { TicketsSoap: tickets, TicketsSoap12: tickets } },
    xml: fixture('dotnet-tickets.wsdl', base),
  });
  soap.listen(server, {
    path: '/rpc-literal',
    services: {
      BillingService: {
        BillingPort: {
          ChargeAccount: note('rpc-literal', 'ChargeAccount', (args) => ({
            receipt: `R-${String(args['account'])}`,
            echo: JSON.stringify(args),
          })),
        },
      },
    },
    xml: fixture('rpc-literal-billing.wsdl', base),
  });
  return {
    base,
    calls,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      await closeServer(server);
    },
  };
}

export interface FileServer {
  base: string;
  /** GET count per path. */
  hits: Map<string, number>;
  /** Per path: answer this instead of the file. */
  override: Map<string, { status: number; body: string; delayMs?: number }>;
  close(): Promise<void>;
}

/** Serves fixture files by name (`/dotnet-tickets.wsdl`), `__BASE__` set to itself. */
export async function startFileServer(): Promise<FileServer> {
  const hits = new Map<string, number>();
  const override = new Map<string, { status: number; body: string; delayMs?: number }>();
  const timers = new Set<NodeJS.Timeout>();
  let base = '';
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', base);
    hits.set(url.pathname, (hits.get(url.pathname) ?? 0) + 1);
    const answer = (status: number, body: string): void => {
      res.writeHead(status, { 'content-type': 'text/xml; charset=utf-8' }).end(body);
    };
    const special = override.get(url.pathname);
    if (special !== undefined) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer(special.status, special.body);
      }, special.delayMs ?? 0);
      timers.add(timer);
      return;
    }
    const file = path.join(FIXTURES, path.basename(url.pathname));
    if (!/\.(wsdl|xsd)$/.test(file) || !fs.existsSync(file)) {
      answer(404, 'no such document');
      return;
    }
    answer(200, fixture(path.basename(file), base));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    hits,
    override,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      await closeServer(server);
    },
  };
}

/**
 * Closes an http server and its connections. `close()` calls back before libuv has released the
 * sockets; one timer turn later they are gone, so the leak guard does not see them.
 */
export async function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await new Promise((resolve) => setTimeout(resolve, 5));
}
