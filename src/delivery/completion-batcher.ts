/** The worker's group commit of completed attempts (see CompletionBatcher). */
import type { ClaimedDelivery } from '../store/delivery-store.js';
import type { CompletedAttempt, CompleteResult } from '../queue/delivery-queue.js';

type Completion = { claim: ClaimedDelivery; attempt: CompletedAttempt };

/**
 * Group commit: attempts that finish while a commit is under way wait for the next one, so a
 * busy worker records many attempts per write transaction instead of one each.
 */
export class CompletionBatcher {
  private queued: {
    item: Completion;
    resolve: (r: CompleteResult) => void;
    reject: (e: unknown) => void;
  }[] = [];
  private draining = false;

  constructor(
    private readonly flush: (items: Completion[]) => Promise<CompleteResult[]>,
    private readonly maxBatch = 256,
  ) {}

  add(claim: ClaimedDelivery, attempt: CompletedAttempt): Promise<CompleteResult> {
    return new Promise((resolve, reject) => {
      this.queued.push({ item: { claim, attempt }, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        void this.drain();
      }
    });
  }

  private async drain(): Promise<void> {
    // Completions of the same turn of the event loop join the first commit.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.queued.length > 0) {
      const batch = this.queued.splice(0, this.maxBatch);
      try {
        const results = await this.flush(batch.map((b) => b.item));
        batch.forEach((b, i) => b.resolve(results[i]!));
      } catch (error) {
        for (const b of batch) b.reject(error);
      }
    }
    this.draining = false;
  }
}
