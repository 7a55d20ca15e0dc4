/** The `callhook` command table. */
import os from 'node:os';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { serveCommand } from '../main.js';
import { openStore } from '../store/db.js';
import { migrate } from '../store/migrator.js';
import { stopSignal } from './stop-signal.js';
import { accountCommands } from './accounts.js';
import { UsageError, withStore } from './usage.js';
import { StartupError } from '../startup-error.js';
import { DeliveryQueue } from '../queue/delivery-queue.js';
import { DeliveryReadStore } from '../store/delivery-read-store.js';
import { IntegrationStore } from '../store/integration-store.js';
import { ReplayJobStore, type ReplayJobView } from '../store/replay-job-store.js';
import { ReplayRunner } from '../queue/replay-runner.js';
import { simulate, SimulateError, type SimulateReport } from './simulate.js';
import { parseTimestamp, timestampProblem } from '../domain/call-event.js';

// Commander's own refusals (a required option or argument missing, an unknown option or command,
// an extra argument) come back as a CommanderError, after it printed them: exit code 2, as every
// wrong use of a command (`.exitOverride()` is inherited by the commands defined below).
const program = new Command('callhook')
  .description('Call-event integration service')
  .exitOverride();

program
  .command('serve')
  .description(
    'run the API, console and delivery workers (settings: CALLHOOK_* variables, docs/config.md)',
  )
  .option('--api', 'run the API and console (without --worker: no delivery workers here)')
  .option('--worker', 'run delivery workers (without --api: no listener here)')
  .action(async (options: { api?: boolean; worker?: boolean }) => {
    const both = options.api === undefined && options.worker === undefined;
    await serveCommand(stopSignal.signal, {
      api: both || options.api === true,
      worker: both || options.worker === true,
    });
  });

program
  .command('migrate')
  .description('apply pending database migrations and exit')
  .action(async () => {
    const config = loadConfig();
    const logger = createLogger(config.logLevel);
    const store = await openStore(config.database);
    try {
      const result = await migrate(store);
      logger.info({ applied: result.applied }, result.applied.length ? 'migrated' : 'up to date');
    } finally {
      await store.close();
    }
  });

accountCommands(program);

program
  .command('simulate')
  .description('play a dialer against a running Callhook: call events for a campaign, at a rate')
  .requiredOption('--key <apiKey>', 'API key with the event_ingest permission')
  .requiredOption('--campaign <id>', 'the campaign the calls belong to')
  .option('--url <url>', 'where Callhook listens', 'http://127.0.0.1:8080')
  .option('--calls <n>', 'how many calls', '100')
  .option('--rate <perSecond>', 'calls per second (0: as fast as answers come)', '10')
  .option('--batch <n>', 'calls per request', '50')
  .option('--lifecycle', 'also report call.started and call.answered', false)
  .action(
    async (options: {
      key: string;
      campaign: string;
      url: string;
      calls: string;
      rate: string;
      batch: string;
      lifecycle: boolean;
    }) => {
      const number = (name: string, value: string, min: number) => {
        const n = Number(value);
        if (!Number.isFinite(n) || n < min)
          throw new UsageError(`--${name} must be a number ≥ ${min}, got "${value}"`);
        return n;
      };
      const report = await simulate({
        url: serviceOrigin(options.url),
        key: options.key,
        campaign: options.campaign,
        calls: Math.floor(number('calls', options.calls, 1)),
        rate: number('rate', options.rate, 0),
        // A request holds at most 1,000 events; with --lifecycle a call is up to three.
        batch: Math.min(
          options.lifecycle ? 333 : 1000,
          Math.floor(number('batch', options.batch, 1)),
        ),
        lifecycle: options.lifecycle,
        signal: stopSignal.signal,
      });
      process.stdout.write(
        `${reportLine(report)}${report.stopped ? ' (stopped by a signal)' : ''}\n`,
      );
    },
  );

/**
 * `--url` as the origin requests go to: an absolute http(s) URL with no path (the API is at
 * `/api/v1` of the service's own origin), query or credentials.
 */
function serviceOrigin(value: string): string {
  const rule = `--url must be where Callhook listens, an http: or https: origin like http://127.0.0.1:8080, got "${value}"`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(rule);
  }
  if (
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.pathname !== '/' ||
    url.search !== '' ||
    url.hash !== '' ||
    url.username !== '' ||
    url.password !== ''
  )
    throw new UsageError(rule);
  return url.origin;
}

/** What `simulate` sent and how the service took it. */
const reportLine = (report: SimulateReport) =>
  `${report.calls} calls, ${report.events} events in ${report.seconds} s: ` +
  `${report.accepted} accepted, ${report.duplicates} duplicates, ${report.rejected} rejected`;

const deliveries = program.command('deliveries').description('send deliveries again');

deliveries
  .command('retry <deliveryId>')
  .description('send a failed delivery again now, with a fresh retry budget')
  .action(async (deliveryId: string) => {
    await withStore(async (store) => {
      const queue = new DeliveryQueue(store);
      if (!(await queue.retryNow(deliveryId))) {
        const delivery = await new DeliveryReadStore(store.db).find(deliveryId, undefined);
        if (delivery === undefined) throw new UsageError(`no delivery ${deliveryId}`);
        throw new UsageError(await queue.whyNotRetried(delivery));
      }
      process.stdout.write(`delivery ${deliveryId} is pending again\n`);
    });
  });

deliveries
  .command('replay <integrationId>')
  .description(
    'send again every failed delivery of an integration created since a time (a replay job, run here)',
  )
  .requiredOption('--since <time>', 'RFC 3339 time, e.g. 2026-11-27T00:00:00Z')
  .action(async (integrationId: string, options: { since: string }) => {
    const since = parseTimestamp(options.since);
    if (since === undefined)
      throw new UsageError(`--since ${timestampProblem(options.since)!}, got "${options.since}"`);
    await withStore(async (store) => {
      const integration = await new IntegrationStore(store).find(integrationId, undefined);
      if (integration === undefined) throw new UsageError(`no integration ${integrationId}`);
      // A replay job, as the API makes: run here, batch by batch (or watched, if a worker took it).
      const job = await new ReplayJobStore(store.db).create({
        ownerId: integration.ownerId,
        integrationId,
        since,
      });
      // Ctrl-C (SIGINT) or SIGTERM cancels the job, after the batch under way.
      whenStopped(() =>
        process.stderr.write(
          `callhook: ${stopSignal.received}: cancelling replay job ${job.id} after the batch ` +
            'under way (a second signal exits at once)\n',
        ),
      );
      const done = await new ReplayRunner(store).runToEnd(
        job,
        (progress) => process.stderr.write(`${progressLine(progress)}\n`),
        stopSignal.signal,
      );
      if (done.status === 'failed')
        throw new Error(`replay job ${job.id} failed: ${done.error ?? 'no reason recorded'}`);
      process.stdout.write(
        `${done.requeued} failed deliveries of ${integrationId} are pending again\n`,
      );
      if (done.status === 'cancelled') replayCancelled(done);
    });
  });

/** Runs `say` when the first stop signal comes, or now if it came already. */
function whenStopped(say: () => void): void {
  if (stopSignal.signal.aborted) say();
  else stopSignal.signal.addEventListener('abort', say, { once: true });
}

/** `replay job <id>: 500 of 50000 requeued`, with why its last batch failed while it is retried. */
const progressLine = (job: ReplayJobView) =>
  `replay job ${job.id}: ${job.requeued} of ${job.total} requeued` +
  (job.status === 'running' && job.error !== null ? ` (${job.error})` : '');

/**
 * The job ended cancelled: by this process's stop signal (exit code 128 + its number, as a shell
 * reports a command a signal ended: 130 for Ctrl-C), or by someone else (exit code 1).
 */
function replayCancelled(job: ReplayJobView): void {
  const signal = stopSignal.received;
  const how = signal === undefined ? 'was cancelled meanwhile,' : `cancelled by ${signal}`;
  process.stderr.write(
    `callhook: replay job ${job.id} ${how} after ${job.requeued} of ${job.total} requeued ` +
      '(those stay pending)\n',
  );
  process.exitCode = signal === undefined ? 1 : 128 + os.constants.signals[signal];
}

program.parseAsync(process.argv).catch((error: unknown) => {
  if (
    error instanceof ConfigError ||
    error instanceof StartupError ||
    error instanceof UsageError ||
    error instanceof InvalidArgumentError
  ) {
    process.stderr.write(`callhook: ${error.message}\n`);
    process.exit(2);
  }
  if (error instanceof CommanderError) {
    // Printed already; help asked for (`--help`) is exit code 0.
    process.exit(error.exitCode === 0 ? 0 : 2);
  }
  if (error instanceof SimulateError) {
    // What went out before the failure still counts: a dialer's events it accepted are stored.
    process.stdout.write(`${reportLine(error.report)}\n`);
    process.stderr.write(`callhook: ${error.message}\n`);
    process.exit(1);
  }
  process.stderr.write(
    `callhook: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
