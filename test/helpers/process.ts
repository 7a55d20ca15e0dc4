import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { promisify } from 'node:util';
import { createSchema, dropSchema, postgresUrlWithSchema } from './store.js';

const BIN = path.resolve('dist/cli/index.js');

export interface ServiceProcess {
  child: ChildProcess;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  stderr: string[];
  /** Resolves with the URL once the service logs that it listens. */
  listening: Promise<string>;
  /** Resolves with the metrics listener's URL (CALLHOOK_METRICS_PORT) once it is logged. */
  metricsListening: Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs the built `callhook` binary (tests build `dist/` in global setup). */
export function startProcess(args: string[], env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env['PATH'] ?? '', CALLHOOK_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const waiters = new Map<string, (url: string) => void>();
  const failers: ((error: Error) => void)[] = [];
  /** The `url` of the first log line `msg`; rejected when the process exits before it. */
  const urlLogged = (msg: string) => {
    const logged = new Promise<string>((resolve, reject) => {
      waiters.set(msg, resolve);
      failers.push(reject);
    });
    logged.catch(() => undefined);
    return logged;
  };
  const listening = urlLogged('callhook listening');
  const metricsListening = urlLogged('metrics listening');
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      waiters.get(String(entry['msg']))?.(String(entry['url']));
    } catch {
      logs.push({ raw: line });
    }
  });
  readline.createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      const error = new Error(`exited before listening (code ${code}): ${stderr.join('\n')}`);
      for (const fail of failers) fail(error);
      resolve({ code, signal });
    });
  });
  return {
    child,
    logs,
    stderr,
    listening,
    metricsListening,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** The built `callhook` CLI with `env` (and PATH); resolves with its output, rejects on a failure. */
export function cliWith(env: Record<string, string>) {
  const full = { PATH: process.env['PATH'] ?? '', ...env };
  return (...args: string[]) =>
    promisify(execFile)(process.execPath, [BIN, ...args], { env: full });
}

/**
 * Creates a user with the CLI (`role`: `['--admin']` or `['--grant', …permissions]`) and answers
 * a new API key of theirs.
 */
export async function userWithKey(
  cli: ReturnType<typeof cliWith>,
  email: string,
  password: string,
  role: readonly string[],
): Promise<string> {
  await cli('users', 'create', '--email', email, '--password', password, ...role);
  return (await cli('keys', 'create', '--email', email)).stdout.trim();
}

/**
 * What a test starts, undone after it by `release()` (call it in `afterEach`): processes are
 * killed (SIGKILL) first, then the other clean-ups run, the last added first.
 */
export function processScope(tempPrefix: string) {
  const running: ServiceProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const onRelease = (cleanup: () => Promise<void>) => void cleanups.push(cleanup);
  return {
    /** `startProcess`, killed after the test if it still runs. */
    start(args: string[], env: Record<string, string>): ServiceProcess {
      const started = startProcess(args, env);
      running.push(started);
      return started;
    },
    /** A new temporary folder, removed after the test. */
    tempDir(): string {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), tempPrefix));
      onRelease(async () => fs.rmSync(dir, { recursive: true, force: true }));
      return dir;
    },
    /** A fresh PostgreSQL schema, dropped after the test; the URL of connections that use it. */
    async postgresSchema(schema: string): Promise<string> {
      await createSchema(schema);
      onRelease(() => dropSchema(schema));
      return postgresUrlWithSchema(schema);
    },
    onRelease,
    async release(): Promise<void> {
      await Promise.all(running.splice(0).map((p) => p.stop('SIGKILL')));
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    },
  };
}

/**
 * What the kill -9 tests' processes share: loopback receivers allowed, 2 s leases (what a killed
 * worker held is due again soon), info logs (`workerStarted` reads one).
 */
export const CRASH_TEST_ENV = {
  CALLHOOK_ALLOW_NETWORKS: '127.0.0.0/8',
  CALLHOOK_LEASE_SECONDS: '2',
  CALLHOOK_LOG_LEVEL: 'info',
} as const;

/** Checks `condition` every 50 ms until it holds or `ms` have passed; whether it held. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  ms: number,
): Promise<boolean> {
  const end = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > end) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/** Waits until `condition` holds; after `ms`, throws `timed out waiting for <what>`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  if (!(await until(condition, ms))) throw new Error(`timed out waiting for ${what}`);
}

/** Waits for a `serve --worker` process to log that its delivery worker started. */
export function workerStarted(p: ServiceProcess): Promise<void> {
  return waitFor(
    () => p.logs.some((l) => l['msg'] === 'delivery worker started'),
    10_000,
    'a worker',
  );
}
