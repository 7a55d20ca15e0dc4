/**
 * The web console in a real browser, for browser test files: the built service (`callhook serve`)
 * on a SQLite file in a temp folder, a local receiver on 127.0.0.1 that answers as its test says,
 * and Debian's Chromium (headless) driven by playwright-core, signed in as the admin.
 * test/e2e/console.browser-flows.test.ts sets up the same by hand.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { startProcess, type ServiceProcess } from './process.js';

export const CONSOLE_ADMIN = { email: 'admin@console.test', password: 'console-admin-pw-1' };
export const WAIT = { timeout: 10_000 };

/** A request the receiver got. */
export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** How the receiver answers a request (its body read); the default answers 200 `{"ok":true}`. */
export type Answer = (request: Received, response: http.ServerResponse) => void;

export interface ConsoleHarness {
  base: string;
  receiverUrl: string;
  received: Received[];
  service: ServiceProcess;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Script errors and CSP refusals the page reported (an API error answer is not one). */
  pageErrors: string[];
  /** Sets how the receiver answers from now on. */
  answer(handler: Answer): void;
  /** A JSON request with the page's session cookie, from the console's origin; must be 2XX. */
  api(method: string, url: string, data?: unknown): Promise<Record<string, unknown>>;
  /** The same request, its status and parsed body whatever they are. */
  call(method: string, url: string, data?: unknown): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

const defaultAnswer: Answer = (_request, response) => {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end('{"ok":true}');
};

/** Starts the service, the receiver and the browser, and signs the browser in as the admin. */
export async function openConsole(): Promise<ConsoleHarness> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'callhook-console-'));
  const received: Received[] = [];
  let handler = defaultAnswer;
  const receiver = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const got: Received = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString(),
      };
      received.push(got);
      handler(got, response);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  const service = startProcess(['serve'], {
    CALLHOOK_DATA_DIR: dataDir,
    CALLHOOK_ADMIN_EMAIL: CONSOLE_ADMIN.email,
    CALLHOOK_ADMIN_PASSWORD: CONSOLE_ADMIN.password,
    CALLHOOK_ALLOW_NETWORKS: '127.0.0.0/8',
    CALLHOOK_LOG_LEVEL: 'info',
  });
  const [base, browser] = await Promise.all([
    service.listening,
    chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox'],
    }),
  ]);
  const context = await browser.newContext({ locale: 'en-US', timezoneId: 'Asia/Kolkata' });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      pageErrors.push(message.text());
    }
  });
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.setDefaultTimeout(WAIT.timeout);

  const call = async (method: string, url: string, data?: unknown) => {
    const res = await context.request.fetch(`${base}/api/v1${url}`, {
      method,
      ...(data === undefined ? {} : { data: data as object }),
      headers: { origin: base },
    });
    const text = await res.text();
    return { status: res.status(), body: text === '' ? {} : (JSON.parse(text) as unknown) };
  };
  const api = async (method: string, url: string, data?: unknown) => {
    const { status, body } = await call(method, url, data);
    expect(status, `${method} ${url}: ${JSON.stringify(body)}`).toBeLessThan(300);
    return body as Record<string, unknown>;
  };
  // Signed in through the API: the page shares the context's cookie.
  await api('POST', '/auth/login', CONSOLE_ADMIN);

  return {
    base,
    receiverUrl,
    received,
    service,
    browser,
    context,
    page,
    pageErrors,
    answer: (next) => (handler = next),
    api,
    call,
    async close() {
      await browser.close();
      await service.stop();
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
      fs.rmSync(dataDir, { recursive: true, force: true });
      // One turn of the event loop: the closed handles' callbacks run before the leak guard looks.
      await new Promise((resolve) => setTimeout(resolve, 0));
    },
  };
}
