/**
 * Process entry: load config → open store → migrate → start the API and/or the delivery workers
 * (and the metrics listener of CALLHOOK_METRICS_PORT).
 * Stops gracefully: on SIGTERM/SIGINT it stops taking work, lets in-flight requests and
 * deliveries finish (or releases them) and closes the store. A signal during start-up stops after the current step (migrations are each
 * one transaction, so none is ever half applied).
 */
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadConfig, type Config } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { openStore, type Store } from './store/db.js';
import { migrate } from './store/migrator.js';
import { StartupError } from './startup-error.js';
import { SECRET_KEY_FILE, checkSecretKeyFile } from './security/secret-box.js';
import { buildApp, type App } from './app.js';
import { buildMetricsApp } from './metrics-app.js';
import { createServices, type Services } from './services.js';
import { ensureFirstAdmin } from './auth/bootstrap.js';
import { AccountStore } from './store/account-store.js';
import { IntegrationStore } from './store/integration-store.js';
import { EventStore } from './store/event-store.js';
import { CampaignStore } from './store/campaign-store.js';
import { DeliveryQueue } from './queue/delivery-queue.js';
import { DeliveryWorker } from './delivery/worker.js';
import { ReplayRunner } from './queue/replay-runner.js';
import { CampaignRunner } from './queue/campaign-runner.js';
import { ContactStore } from './store/contact-store.js';
import { createDeliveryExecutor } from './delivery/delivery-executor.js';
import { pruneActivity, pruneHistory } from './store/retention-store.js';

/**
 * How often a worker process prunes history past CALLHOOK_RETENTION_DAYS, and the dashboard's
 * activity past CALLHOOK_ACTIVITY_RETENTION_DAYS.
 */
const PRUNE_INTERVAL_MS = 3600_000;

export interface RunningService {
  /** The API's URL; undefined for a worker-only process. */
  readonly url: string | undefined;
  /** The metrics listener's URL; undefined without CALLHOOK_METRICS_PORT. */
  readonly metricsUrl: string | undefined;
  close(): Promise<void>;
}

/** What this process runs: the API (and console), the delivery workers, or both (default). */
export interface Roles {
  api: boolean;
  worker: boolean;
}

export class StartAborted extends Error {
  constructor() {
    super('start-up stopped by a signal');
  }
}

/** Starts the service; `signal` aborts a start-up in progress (between steps). */
export async function startService(
  config: Config,
  logger: Logger,
  signal?: AbortSignal,
  roles: Roles = { api: true, worker: true },
): Promise<RunningService> {
  let store: Store | undefined;
  let app: App | undefined;
  let metricsApp: FastifyInstance | undefined;
  let services: Services | undefined;
  let worker: DeliveryWorker | undefined;
  let replays: ReplayRunner | undefined;
  let campaignRuns: CampaignRunner | undefined;
  let pruneTimer: NodeJS.Timeout | undefined;
  let pruning: Promise<void> | undefined;
  // Stop taking work first (the listeners and claiming, together: a request the API lets finish
  // must not keep the worker claiming meanwhile), let in-flight work finish, then close.
  const cleanup = async () => {
    clearInterval(pruneTimer);
    await Promise.all([
      app?.close(),
      metricsApp?.close(),
      worker?.stop(),
      replays?.stop(),
      campaignRuns?.stop(),
      pruning,
    ]);
    await services?.close();
    await store?.close();
  };
  const checkpoint = async () => {
    if (signal?.aborted) {
      await cleanup();
      throw new StartAborted();
    }
  };
  if (roles.api && config.metricsPort === config.port && config.port !== 0) {
    throw new StartupError(
      `CALLHOOK_METRICS_PORT and CALLHOOK_PORT are both ${config.port}, where this process serves the API: give CALLHOOK_METRICS_PORT another port or unset it`,
    );
  }
  // Before anything is written (the data dir, the first admin): a port that is taken or an
  // address that is not here stops start-up with nothing created. Listening later can still fail
  // (the port taken meanwhile), with the same message.
  if (roles.api) await checkCanListen(config.host, config.port, 'CALLHOOK_PORT');
  if (config.metricsPort !== undefined)
    await checkCanListen(config.host, config.metricsPort, 'CALLHOOK_METRICS_PORT');
  // A key file that holds no key (or a data dir where none can be made) stops start-up here,
  // not after the database and the first admin were made.
  checkSecretKeyFile(config);
  try {
    store = await openStore(config.database, {
      checkpointer: {
        onProblem: (error) => logger.warn({ err: error }, 'SQLite checkpoint thread'),
        onRecovered: () => logger.info('SQLite checkpoint thread works again'),
      },
    });
    await checkpoint();
    const result = await migrate(store, signal ? { signal } : {});
    if (result.applied.length > 0) logger.info({ applied: result.applied }, 'migrations applied');
    await checkpoint();
    const admin = await ensureFirstAdmin(new AccountStore(store), config);
    if (admin.created) announceFirstAdmin(admin.email, admin.generatedPassword, logger);
    await checkpoint();
    services = createServices(config, logger, store);
    await checkSecretKey(config, services, new IntegrationStore(store));
    // Written every 10 s; the last counts when `services.close()` stops it, after the worker.
    services.activity.start();
    // The queue's figures once a minute, for the dashboard's chart (queue-history.ts).
    services.queueSampler.start();
    const queue = new DeliveryQueue(store, {
      lanes: {
        leaseMs: config.leaseMs,
        leaseMarginMs: Math.min(15_000, config.leaseMs),
        autoDisable:
          config.autoDisableAfterFailures === 0
            ? false
            : {
                afterFailures: config.autoDisableAfterFailures,
                afterMs: config.autoDisableAfterMs,
              },
      },
    });
    if (roles.worker) {
      const integrations = new IntegrationStore(store);
      worker = new DeliveryWorker({
        queue,
        concurrency: config.workerConcurrency,
        logger,
        metrics: services.metrics,
        activity: services.activity,
        execute: createDeliveryExecutor({
          integrations,
          events: new EventStore(store.db, queue.enqueue),
          campaigns: new CampaignStore(store.db),
          contacts: new ContactStore(store),
          runner: services.runner,
        }),
      });
      worker.start();
      logger.info({ workerId: worker.id }, 'delivery worker started');
      // Replay jobs run in worker processes only: an API-only process stores them for a worker.
      const deliveryWorker = worker;
      replays = new ReplayRunner(store, { logger, onRequeued: () => deliveryWorker.notify() });
      replays.start();
      // Integration campaigns run in worker processes too: an API-only process stores their state.
      campaignRuns = new CampaignRunner(store, {
        logger,
        onEnqueued: () => deliveryWorker.notify(),
      });
      campaignRuns.start();
      const db = store.db;
      const pruneOld = async () => {
        const now = Date.now();
        const pruned = {
          ...(await pruneHistory(db, now - config.retentionMs)),
          activity: await pruneActivity(db, now - config.activityRetentionMs),
        };
        if (pruned.attempts + pruned.events + pruned.activity > 0)
          logger.info(pruned, 'pruned old attempts, events and activity');
      };
      const prune = () => {
        pruning = pruneOld().catch((error: unknown) =>
          logger.warn({ err: error }, 'pruning old history failed'),
        );
      };
      // Once now, then hourly: a process restarted more often than hourly still prunes.
      prune();
      pruneTimer = setInterval(prune, PRUNE_INTERVAL_MS);
      pruneTimer.unref();
    }
    if (roles.api) {
      const notify = worker === undefined ? undefined : () => worker!.notify();
      const notifyReplays = replays === undefined ? undefined : () => replays!.notify();
      const notifyRuns = campaignRuns === undefined ? undefined : () => campaignRuns!.notify();
      app = await buildApp({
        config,
        store,
        logger,
        services,
        queue,
        ...(notify ? { onEnqueued: notify } : {}),
        ...(notifyReplays ? { onReplayAsked: notifyReplays } : {}),
        ...(notifyRuns ? { onCampaignRun: notifyRuns } : {}),
      });
      await checkpoint();
      await listen(app, config.host, config.port, 'CALLHOOK_PORT');
    }
    if (config.metricsPort !== undefined) {
      // Beside the API too: one scrape port for every process, whatever its role (docs/config.md).
      metricsApp = await buildMetricsApp({ logger, metrics: services.metrics, store });
      await checkpoint();
      await listen(metricsApp, config.host, config.metricsPort, 'CALLHOOK_METRICS_PORT');
    }
    await checkpoint();
  } catch (error) {
    if (!(error instanceof StartAborted)) await cleanup().catch(() => undefined);
    throw error;
  }
  let url: string | undefined;
  if (app !== undefined) {
    url = urlOf(app);
    logger.info(
      { url, database: config.database.kind, worker: roles.worker },
      'callhook listening',
    );
  }
  let metricsUrl: string | undefined;
  if (metricsApp !== undefined) {
    metricsUrl = urlOf(metricsApp);
    logger.info({ url: metricsUrl }, 'metrics listening');
  }
  let closing: Promise<void> | undefined;
  return {
    url,
    metricsUrl,
    close: () => (closing ??= cleanup()),
  };
}

/**
 * The secret key must open the secrets already stored: a process started with another key (a
 * typo, another environment's, a data dir restored without its key file) would fail every
 * delivery of an integration with a secret, each attempt logged as an error, until its retries
 * ran out. A few of the newest sealed values are tried; one that opens is enough (AES-GCM opens
 * nothing with a wrong key), so one damaged value does not stop the service.
 */
async function checkSecretKey(
  config: Config,
  services: Services,
  integrations: IntegrationStore,
): Promise<void> {
  const sealed = await integrations.recentSealedValues(5);
  if (sealed.length === 0) return;
  const opens = (value: string) => {
    try {
      services.secretBox.open(value);
      return true;
    } catch {
      return false;
    }
  };
  if (sealed.some(opens)) return;
  const key =
    config.secretKey === undefined
      ? `the key file ${path.join(config.dataDir, SECRET_KEY_FILE)} (CALLHOOK_SECRET_KEY unset)`
      : 'CALLHOOK_SECRET_KEY';
  throw new StartupError(
    `${key} does not open the secrets stored in the database: they were sealed with another key. ` +
      'Start with the key they were sealed with (every process sharing the database needs the same one)',
  );
}

/** Which setting to fix, and why, when the machine refuses to listen on `host:port`. */
type ListenVariable = 'CALLHOOK_PORT' | 'CALLHOOK_METRICS_PORT';
const LISTEN_REFUSALS: Record<string, string> = {
  EADDRINUSE: 'the address is in use',
  EACCES: 'the address is not allowed',
  EADDRNOTAVAIL: 'the address is not here',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve',
  EAI_FAIL: 'the host name does not resolve',
  EAI_NONAME: 'the host name does not resolve',
};

/** A StartupError naming the settings for a refusal the operator can fix; other errors as they are. */
function listenError(
  error: unknown,
  host: string,
  port: number,
  variable: ListenVariable,
): unknown {
  const code = (error as { code?: unknown }).code;
  const why = typeof code === 'string' ? LISTEN_REFUSALS[code] : undefined;
  if (why === undefined) return error;
  return new StartupError(`cannot listen on ${host}:${port}: ${why} (CALLHOOK_HOST, ${variable})`, {
    cause: error,
  });
}

/** Listens on `host:port` for a moment and closes: can the listener be opened at all? */
async function checkCanListen(host: string, port: number, variable: ListenVariable): Promise<void> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, resolve);
  }).catch((error: unknown) => {
    throw listenError(error, host, port, variable);
  });
  await new Promise((resolve) => server.close(resolve));
}

/**
 * Listens on `host:port`; an address the machine refuses is a StartupError naming the settings
 * (`variable` is the port's), not a stack trace.
 */
async function listen(
  app: FastifyInstance,
  host: string,
  port: number,
  variable: ListenVariable,
): Promise<void> {
  await app.listen({ host, port }).catch((error: unknown) => {
    throw listenError(error, host, port, variable);
  });
}

function urlOf(app: FastifyInstance): string {
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/**
 * `callhook serve`: runs until `stop` aborts (SIGTERM or SIGINT), then stops cleanly and
 * resolves; the process then exits 0 on its own.
 */
export async function serveCommand(
  stop: AbortSignal,
  roles: Roles = { api: true, worker: true },
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const config = loadConfig(env);
  const logger = createLogger(config.logLevel);
  let service: RunningService;
  try {
    service = await startService(config, logger, stop, roles);
  } catch (error) {
    if (error instanceof StartAborted) {
      logger.info('start-up stopped by a signal; nothing half-written');
      return;
    }
    throw error;
  }
  await new Promise<void>((resolve) => {
    if (stop.aborted) resolve();
    else stop.addEventListener('abort', () => resolve(), { once: true });
  });
  logger.info('stopping');
  await service.close();
  logger.info('stopped');
}

/**
 * The first admin's sign-in, told once. A generated password goes to stderr directly, never
 * through the logger, so it cannot reach log storage.
 */
function announceFirstAdmin(
  email: string,
  generatedPassword: string | undefined,
  logger: Logger,
): void {
  logger.info({ email }, 'first admin created');
  if (generatedPassword !== undefined) {
    process.stderr.write(
      `\nCallhook created the first admin. Sign in with:\n  email:    ${email}\n  password: ${generatedPassword}\n` +
        'This password is shown only now; change it after signing in.\n\n',
    );
  }
}
