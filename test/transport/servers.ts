import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import { NetworkPolicy } from '../../src/transport/network-policy.js';

export interface TestServer {
  /** `http://127.0.0.1:<port>` (or the https/IPv6 form). */
  origin: string;
  port: number;
  /** TCP connections accepted so far (keep-alive reuse shows as fewer connections). */
  connections(): number;
  close(): Promise<void>;
}

/** Starts a node:http (or https, with `tls`) server on a loopback port picked by the OS. */
export async function startServer(
  handler: http.RequestListener,
  options: { host?: string; tls?: { key: string; cert: string } } = {},
): Promise<TestServer> {
  const host = options.host ?? '127.0.0.1';
  const server = options.tls
    ? https.createServer(options.tls, handler)
    : http.createServer(handler);
  let connections = 0;
  server.on(options.tls ? 'secureConnection' : 'connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const name = host.includes(':') ? `[${host}]` : host;
  return {
    origin: `${options.tls ? 'https' : 'http'}://${name}:${port}`,
    port,
    connections: () => connections,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await settle();
    },
  };
}

/** A policy with the given CIDRs opened, as CALLHOOK_ALLOW_NETWORKS would. */
export function policyOpening(...cidrs: string[]): NetworkPolicy {
  return new NetworkPolicy(cidrs.map((cidr) => ({ cidr, range: ipaddr.parseCIDR(cidr) })));
}

/** Reads a whole request body. */
export async function readRequest(request: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Node still lists a closed server's or socket's handle for a turn or two after its close
 * callback; waiting them out keeps the leak guard about real leaks.
 */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

/** A fresh self-signed certificate for `localhost` (2 days), made with openssl. */
export function selfSignedCert(): { key: string; cert: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'callhook-tls-'));
  try {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    return { key: fs.readFileSync(key, 'utf8'), cert: fs.readFileSync(cert, 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
