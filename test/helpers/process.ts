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
  let onListen: (url: string) => void = () => undefined;
  let onFail: (error: Error) => void = () => undefined;
  const listening = new Promise<string>((resolve, reject) => {
    onListen = resolve;
    onFail = reject;
  });
  listening.catch(() => undefined);
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry['msg'] === 'callhook listening') onListen(String(entry['url']));
    } catch {
      logs.push({ raw: line });
    }
  });
  readline.createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      onFail(new Error(`exited before listening (code ${code}): ${stderr.join('\n')}`));
      resolve({ code, signal });
    });
  });
  return {
    child,
    logs,
    stderr,
    listening,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
