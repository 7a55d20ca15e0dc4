/**
 * Runs integration campaigns in a worker process: several times a second it pumps each running
 * campaign that has contacts due (`CampaignRunStore.pump`), which stores their deliveries, each
 * due at its slot of the campaign's rate, for the delivery workers to send. Any number of worker
 * processes run one each: the campaign row's lock makes them take turns, and the rate lives in
 * the row, so it holds across them. A restarted process goes on where the last committed pump
 * left every campaign (docs/campaigns.md).
 */
import { FailureStreak, type Logger } from '../logger.js';
import type { WriteStore } from '../store/write-transaction.js';
import { CampaignRunStore, MAX_PER_PUMP } from '../store/campaign-run-store.js';
import { PollLoop } from './poll-loop.js';

export interface CampaignRunnerOptions {
  /** How often running campaigns are looked at (default 250 ms); `notify()` wakes earlier. */
  pollMs?: number;
  /** How far ahead contacts are scheduled (default 1 s). */
  horizonMs?: number;
  /** Milliseconds since the epoch; tests inject a fake clock. */
  clock?: () => number;
  logger?: Logger;
  /** A pump stored deliveries: the delivery worker may claim now. */
  onEnqueued?: () => void;
}

/**
 * ### Examples
 * ```ts
 * const runner = new CampaignRunner(store, { logger, onEnqueued: () => worker.notify() });
 * runner.start();
 * // …
 * await runner.stop();
 * ```
 */
export class CampaignRunner {
  private readonly runs: CampaignRunStore;
  private readonly horizonMs: number;
  private readonly clock: () => number;
  private readonly loop: PollLoop;

  constructor(
    store: WriteStore,
    private readonly options: CampaignRunnerOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
    this.runs = new CampaignRunStore(store, this.clock);
    this.horizonMs = options.horizonMs ?? 1000;
    this.loop = new PollLoop(
      () => this.runOnce(),
      options.pollMs ?? 250,
      new FailureStreak(options.logger, 'pumping integration campaigns'),
    );
  }

  /** Pumps running campaigns in the background until `stop()`. */
  start(): void {
    this.loop.start();
  }

  /** A campaign started or resumed: look now rather than at the next poll. */
  notify(): void {
    this.loop.notify();
  }

  /** Finishes the pump under way and runs no more. */
  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /**
   * Pumps every running campaign that has a contact due within the horizon, or has handed all of
   * its contacts over (to complete it). Answers whether one filled a whole pump (more is due now).
   */
  async runOnce(): Promise<boolean> {
    const now = this.clock();
    let full = false;
    for (const campaign of await this.runs.running()) {
      const handedOver = Number(campaign.next_position) >= Number(campaign.end_position);
      if (!handedOver && Number(campaign.next_send_at) > now + this.horizonMs) continue;
      const result = await this.runs.pump(campaign, this.horizonMs);
      if (result.enqueued > 0) this.options.onEnqueued?.();
      if (result.enqueued >= MAX_PER_PUMP) full = true;
      if (result.completed) {
        this.options.logger?.info({ campaignId: campaign.id }, 'integration campaign completed');
      }
    }
    return full;
  }
}
