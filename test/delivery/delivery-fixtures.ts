/** A local receiver and a plain undici execute function for worker tests. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import type { Execute } from '../../src/delivery/worker.js';

export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Sets how the next requests are answered (default 200). */
  answer: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const receiver: Receiver = {
    url: '',
    received: [],
    answer: (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'),
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      receiver.received.push({
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
        at: Date.now(),
      });
      receiver.answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return receiver;
}

/**
 * Posts `{delivery}` to `url(delivery)` with the delivery id as Idempotency-Key, maps the answer
 * to an outcome: what the lead's transport-backed execute will do, minus rendering.
 */
export function undiciExecute(url: (integrationId: string) => string, timeoutMs = 2_000): Execute {
  return async (delivery, signal) => {
    const started = performance.now();
    const headers = {
      'content-type': 'application/json',
      'idempotency-key': delivery.id,
      'x-worker-pid': String(process.pid),
    };
    const body = JSON.stringify({ delivery: delivery.id, key: delivery.orderingKey });
    const sent = { method: 'POST', url: url(delivery.integrationId), headers, body };
    // A timer of its own, not AbortSignal.any([signal, AbortSignal.timeout()]): on Node 20 the
    // combined signal can be collected before the timeout fires, and the request then hangs.
    const stop = new AbortController();
    const timer = setTimeout(
      () => stop.abort(new DOMException('deadline passed', 'TimeoutError')),
      timeoutMs,
    );
    const cancel = () => stop.abort(signal.reason);
    signal.addEventListener('abort', cancel, { once: true });
    try {
      const response = await request(sent.url, {
        method: 'POST',
        headers,
        body,
        signal: stop.signal,
      });
      const text = await response.body.text();
      return {
        outcome: {
          kind: 'response',
          status: response.statusCode,
          headers: Object.entries(response.headers).map(([k, v]) => [k, String(v)] as const),
          body: text,
          durationMs: performance.now() - started,
        },
        integrationVersion: 1,
        request: sent,
      };
    } catch (error) {
      const name = (error as Error).name;
      return {
        outcome:
          name === 'TimeoutError'
            ? {
                kind: 'timeout',
                message: 'deadline passed',
                durationMs: performance.now() - started,
              }
            : {
                kind: 'network-error',
                code: (error as { code?: string }).code ?? name,
                message: (error as Error).message,
                durationMs: performance.now() - started,
              },
        integrationVersion: 1,
        request: sent,
      };
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', cancel);
    }
  };
}
