/**
 * The process-wide parts the API and the workers share: one secret box, one HTTP client (its
 * keep-alive pools), one SOAP client (its WSDL cache), one integration runner (its compiled
 * templates), one metrics registry and one activity recorder (the dashboard's counts per
 * minute). `main.ts` builds them once; tests build their own.
 */
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { SecretBox, loadSecretKey } from './security/secret-box.js';
import { NetworkPolicy } from './transport/network-policy.js';
import { HttpClient } from './transport/http-client.js';
import { SoapClient } from './transport/soap-client.js';
import { createPolicyAgents } from './transport/safe-connect.js';
import { IntegrationRunner } from './delivery/integration-runner.js';
import { Metrics } from './metrics.js';
import type { Store } from './store/db.js';
import { DeliveryQueue } from './queue/delivery-queue.js';
import { ActivityRecorder } from './store/activity-store.js';
import { QueueSampler } from './store/queue-history.js';
import { randomUUID } from 'node:crypto';
import type { CompileFilterOptions } from './template/filters.js';

export interface Services {
  secretBox: SecretBox;
  policy: NetworkPolicy;
  http: HttpClient;
  soap: SoapClient;
  runner: IntegrationRunner;
  /** IVR invocations' own runner: callers never queue behind background deliveries' connections. */
  ivrRunner: IntegrationRunner;
  /** Options every template compiles with (the default country of `e164`). */
  templates: CompileFilterOptions;
  metrics: Metrics;
  /**
   * Deliveries and events counted per minute for the dashboard, written every 10 s once
   * `main.ts` starts it; `close()` writes what is left.
   */
  activity: ActivityRecorder;
  /** The queue's figures once a minute for the dashboard, once `main.ts` starts it. */
  queueSampler: QueueSampler;
  close(): Promise<void>;
}

export function createServices(
  config: Config,
  logger: Logger,
  store: Store,
  overrides: { secretBox?: SecretBox } = {},
): Services {
  const secretBox = overrides.secretBox ?? openSecretBox(config, logger);
  const policy = new NetworkPolicy(config.allowNetworks);
  const http = new HttpClient({ policy, userAgent: 'Callhook/0.1' });
  const agents = createPolicyAgents(policy);
  const soap = new SoapClient({ policy, agents });
  const templates =
    config.defaultCountry === undefined ? {} : { defaultCountry: config.defaultCountry };
  const runner = new IntegrationRunner({ http, soap, sealer: secretBox, templates });
  const ivrHttp = new HttpClient({ policy, userAgent: 'Callhook/0.1', connectionsPerOrigin: 256 });
  const ivrRunner = new IntegrationRunner({ http: ivrHttp, soap, sealer: secretBox, templates });
  const activity = new ActivityRecorder(store.db, { processId: randomUUID(), logger });
  const queueSampler = new QueueSampler(store.db, { logger });
  return {
    secretBox,
    policy,
    http,
    soap,
    runner,
    ivrRunner,
    templates,
    metrics: new Metrics(() => new DeliveryQueue(store).snapshot()),
    activity,
    queueSampler,
    async close() {
      await activity.stop();
      await queueSampler.stop();
      soap.close();
      agents.httpAgent.destroy();
      agents.httpsAgent.destroy();
      await http.close();
      await ivrHttp.close();
    },
  };
}

/** The box for secrets at rest, from CALLHOOK_SECRET_KEY or the data dir's key file. */
function openSecretBox(config: Config, logger: Logger): SecretBox {
  const loaded = loadSecretKey(config);
  if (loaded.warning !== undefined) logger.warn(loaded.warning);
  if (loaded.source === 'generated') {
    logger.info(
      { file: loaded.file },
      'generated the key for secrets at rest; back it up with the database',
    );
  }
  return new SecretBox(loaded.key);
}
