import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

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
