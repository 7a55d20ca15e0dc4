/**
 * Replays (permission `integration`): every failed delivery of an integration created since a
 * time goes back to pending, as a background job a worker runs in batches
 * (src/queue/replay-runner.ts); the job shows its progress, and can be cancelled while it runs.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import { ownerScope } from '../auth/authorize.js';
import type { IntegrationStore } from '../store/integration-store.js';
import type { ReplayJobStore } from '../store/replay-job-store.js';
import { parseTimestamp, timestampProblem } from '../domain/call-event.js';
import { IdParams, PageQuery, pageOf } from './schemas.js';
import { idCursor, withIdCursor } from './page-cursor.js';
import { mustFindIntegration } from './integrations.routes.js';

const access = { access: 'integration' } as const;
const tags = ['integrations'];

const ReplayJob = Type.Object({
  id: Type.String(),
  integrationId: Type.String(),
  since: Type.String(),
  status: Type.Enum(['running', 'succeeded', 'failed', 'cancelled']),
  total: Type.Integer({ description: 'failed deliveries the replay matched when asked for' }),
  requeued: Type.Integer({
    description: 'moved back to pending so far (a cancelled job keeps what it requeued)',
  }),
  error: Type.Union([Type.String(), Type.Null()], {
    description:
      'why a failed job stopped; while running, why its last batch failed (it is tried again)',
  }),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  finishedAt: Type.Union([Type.String(), Type.Null()]),
});

const JobParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 100 }),
  jobId: Type.String({ minLength: 1, maxLength: 100 }),
});

export interface ReplayRoutesOptions {
  jobs: ReplayJobStore;
  integrations: IntegrationStore;
  /** Called after a job was stored: wakes this process's replay runner at once. */
  onReplayAsked?: () => void;
}

export const replayRoutes: FastifyPluginAsyncTypebox<ReplayRoutesOptions> = async (
  app,
  { jobs, integrations, onReplayAsked },
) => {
  app.post(
    '/api/v1/integrations/:id/replay',
    {
      config: access,
      schema: {
        tags,
        summary:
          'Send again every failed delivery of the integration created since a time (a background job)',
        params: IdParams,
        body: Type.Object(
          { since: Type.String({ description: 'RFC 3339 time, e.g. 2026-11-27T00:00:00Z' }) },
          { additionalProperties: false },
        ),
        response: { 202: ReplayJob },
      },
    },
    async (request, reply) => {
      const integration = await mustFindIntegration(
        integrations,
        request.params.id,
        ownerScope(request),
      );
      const since = parseTimestamp(request.body.since);
      if (since === undefined) {
        throw new AppError('VALIDATION_FAILED', 'since is not a time', [
          { field: 'body.since', message: timestampProblem(request.body.since)! },
        ]);
      }
      const job = await jobs.create({
        ownerId: integration.ownerId,
        integrationId: integration.id,
        since,
      });
      onReplayAsked?.();
      request.log.info(
        { integrationId: integration.id, since: request.body.since, replayJob: job.id },
        'replay asked',
      );
      return reply.code(202).send(job);
    },
  );

  app.get(
    '/api/v1/integrations/:id/replay',
    {
      config: access,
      schema: {
        tags,
        summary: "The integration's replay jobs with their progress, newest first",
        params: IdParams,
        querystring: PageQuery,
        response: { 200: pageOf(ReplayJob) },
      },
    },
    async (request) => {
      const { cursor, limit } = request.query;
      const page = { cursor: idCursor(cursor), limit };
      const owner = ownerScope(request);
      const integration = await mustFindIntegration(integrations, request.params.id, owner);
      return withIdCursor(await jobs.list(integration.id, owner, page));
    },
  );

  app.get(
    '/api/v1/integrations/:id/replay/:jobId',
    {
      config: access,
      schema: {
        tags,
        summary: 'One replay job with its progress',
        params: JobParams,
        response: { 200: ReplayJob },
      },
    },
    async (request) => {
      const owner = ownerScope(request);
      const integration = await mustFindIntegration(integrations, request.params.id, owner);
      const job = await jobs.find(integration.id, request.params.jobId, owner);
      if (job === undefined)
        throw new AppError('NOT_FOUND', `No replay job ${request.params.jobId}`);
      return job;
    },
  );

  app.post(
    '/api/v1/integrations/:id/replay/:jobId/cancel',
    {
      config: access,
      schema: {
        tags,
        summary:
          'Cancel a running replay job: its worker stops after the batch under way; what it requeued stays pending',
        params: JobParams,
        response: { 200: ReplayJob },
      },
    },
    async (request) => {
      const owner = ownerScope(request);
      const integration = await mustFindIntegration(integrations, request.params.id, owner);
      const result = await jobs.cancel(integration.id, request.params.jobId, owner);
      if (result === undefined)
        throw new AppError('NOT_FOUND', `No replay job ${request.params.jobId}`);
      if (!result.cancelled) {
        throw new AppError(
          'CONFLICT',
          `Replay job ${result.job.id} has already ended (status ${result.job.status}): only a running job can be cancelled`,
        );
      }
      request.log.info(
        { integrationId: integration.id, replayJob: result.job.id, requeued: result.job.requeued },
        'replay cancelled',
      );
      return result.job;
    },
  );
};
