/**
 * The background loop of a runner that looks for work in the store: one step, then the next at
 * once when the step says more is waiting, else after `pollMs` or sooner on `notify()`. A step
 * that throws is reported (once until a step succeeds again) and the loop goes on at the next poll.
 *
 * ### Examples
 * ```ts
 * const loop = new PollLoop(
 *   async () => (await runOnce()) !== undefined,
 *   1_000,
 *   new FailureStreak(logger, 'taking a job'),
 * );
 * loop.start();
 * loop.notify(); // work was asked for: look now
 * await loop.stop(); // the step under way ends, no other starts
 * ```
 */
import type { FailureStreak } from '../logger.js';

export class PollLoop {
  private running = false;
  private done: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    /** Answers whether more work is waiting now. */
    private readonly step: () => Promise<boolean>,
    private readonly pollMs: number,
    /** Its failures, logged once per outage. */
    private readonly failures: FailureStreak,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.done = this.loop();
  }

  notify(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.done;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const more = await this.step().then(
        (more) => {
          this.failures.succeeded();
          return more;
        },
        (error: unknown) => {
          this.failures.failed(error);
          return false;
        },
      );
      if (!this.running) break;
      if (more) {
        // Lets queued I/O (requests, timers) run between two steps.
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.pollMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }
}
