import type { Kysely } from 'kysely';
import type { Backend } from '../db.js';
import { migration0001Core } from './0001-core.js';
import { migration0002DeliveryLanes } from './0002-delivery-lanes.js';
import { migration0003OrderingIndex } from './0003-ordering-index.js';
import { migration0004DropClaimIndex } from './0004-drop-claim-index.js';
import { migration0005LeasedIndex } from './0005-leased-index.js';
import { migration0006ReplayJobs } from './0006-replay-jobs.js';
import { migration0007ReplayJobRetries } from './0007-replay-job-retries.js';
import { migration0008ContactLists } from './0008-contact-lists.js';
import { migration0009IntegrationCampaigns } from './0009-integration-campaigns.js';
import { migration0010Activity } from './0010-activity.js';
import { migration0011QueueSamples } from './0011-queue-samples.js';

/** A forward-only migration. Names sort in the order they run. */
export interface Migration {
  name: string;
  up(db: Kysely<unknown>, backend: Backend): Promise<void>;
}

/** Every migration, in order. Add new ones at the end; never edit one that has shipped. */
export const migrations: readonly Migration[] = [
  migration0001Core,
  migration0002DeliveryLanes,
  migration0003OrderingIndex,
  migration0004DropClaimIndex,
  migration0005LeasedIndex,
  migration0006ReplayJobs,
  migration0007ReplayJobRetries,
  migration0008ContactLists,
  migration0009IntegrationCampaigns,
  migration0010Activity,
  migration0011QueueSamples,
];
