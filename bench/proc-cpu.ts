/**
 * CPU time of other processes (Linux `/proc`): the benchmark's children (Callhook, the receiver)
 * and the PostgreSQL server's processes. User + system time of every thread, in µs.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/** CPU µs used so far by process `pid` (0 once it is gone). */
export function cpuUsOf(pid: number): number {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  // Fields after the command (which may hold spaces), from field 3 on: utime is 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND) * 1e6;
}

/** Pids of the processes whose command name is `name` (`postgres`). */
export function pidsNamed(name: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name;
      } catch {
        return false;
      }
    });
}

/** Starts counting the CPU of `pids`; the returned function answers µs used since. */
export function cpuMeter(pids: readonly number[]): () => number {
  const total = () => pids.reduce((sum, pid) => sum + cpuUsOf(pid), 0);
  const before = total();
  return () => total() - before;
}

/**
 * Starts counting the CPU of every process named `name`, those started meanwhile included (a
 * PostgreSQL backend per new pool connection); one that ended meanwhile is left out.
 */
export function cpuMeterOfNamed(name: string): () => number {
  const before = new Map(pidsNamed(name).map((pid) => [pid, cpuUsOf(pid)]));
  return () => pidsNamed(name).reduce((sum, pid) => sum + cpuUsOf(pid) - (before.get(pid) ?? 0), 0);
}
