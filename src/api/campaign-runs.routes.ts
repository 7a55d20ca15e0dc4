/**
 * Runs of integration campaigns (permission `integration`, SPEC §6): `start`, `pause`, `resume`,
 * `stop`, and the per-contact results as JSON pages or one CSV file (docs/campaigns.md).
 */
import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../errors.js';
import { ownerScope } from '../auth/authorize.js';
import type { CampaignRunStore, ContactResult } from '../store/campaign-run-store.js';
import type { CampaignRow } from '../store/campaign-store.js';
import { toCampaign } from '../store/campaign-store.js';
import { CAMPAIGN_ACTIONS, type CampaignAction } from '../domain/campaign.js';
import { csvRow } from '../domain/csv.js';
import { IdParams, pageOf } from './schemas.js';
import { CampaignOut, campaignView } from './campaigns.schemas.js';
import { runAnswerRow } from './campaigns.routes.js';
import { positionCursor } from '../store/contact-store.js';

const access = { access: 'integration' } as const;
const tags = ['campaigns'];

const RESULT_STATUSES = ['pending', 'succeeded', 'failed', 'cancelled'] as const;

const ContactResultOut = Type.Object({
  contactId: Type.String(),
  phone: Type.String(),
  firstName: Type.Union([Type.String(), Type.Null()]),
  lastName: Type.Union([Type.String(), Type.Null()]),
  email: Type.Union([Type.String(), Type.Null()]),
  status: Type.Enum(RESULT_STATUSES),
  attempts: Type.Integer(),
  lastStatus: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  deliveryId: Type.Union([Type.String(), Type.Null()]),
  completedAt: Type.Union([Type.String(), Type.Null()]),
});

/** The CSV columns, in the order and with the names of the JSON fields. */
const CSV_COLUMNS = Object.keys(ContactResultOut.properties) as (keyof ContactResult)[];

/** Results per query while a CSV export streams: memory stays flat whatever the run's size. */
const EXPORT_PAGE = 1000;

const SUMMARIES: Record<CampaignAction, string> = {
  start: "Start an integration campaign: its list's contacts as they are now, at its rate",
  pause: 'Pause a running integration campaign: nothing more is sent until it is resumed',
  resume:
    'Resume a paused integration campaign where it was (409 while its integration is disabled)',
  stop: 'Stop an integration campaign for good: what was not sent is cancelled',
};

export interface CampaignRunRoutesOptions {
  runs: CampaignRunStore;
  /** Called after a start or resume: wakes this process's campaign runner at once. */
  onCampaignRun?: () => void;
}

/** Every result of a run as CSV lines, a page of rows per query (header first). */
async function* resultLines(
  runs: CampaignRunStore,
  row: CampaignRow,
  status: string | undefined,
): AsyncGenerator<string> {
  yield csvRow(CSV_COLUMNS);
  let cursor: number | undefined;
  for (;;) {
    const page = await runs.results(row, { cursor, limit: EXPORT_PAGE, status });
    if (page.items.length > 0) {
      yield page.items.map((item) => csvRow(CSV_COLUMNS.map((column) => item[column]))).join('');
    }
    if (page.nextCursor === null || page.lastPosition === null) return;
    cursor = page.lastPosition;
  }
}

export const campaignRunsRoutes: FastifyPluginAsyncTypebox<CampaignRunRoutesOptions> = async (
  app,
  { runs, onCampaignRun },
) => {
  for (const action of CAMPAIGN_ACTIONS) {
    app.post(
      `/api/v1/campaigns/:id/${action}`,
      {
        config: access,
        schema: {
          tags,
          summary: SUMMARIES[action],
          params: IdParams,
          response: { 200: CampaignOut },
        },
      },
      async (request) => {
        const { id } = request.params;
        const row = runAnswerRow(await runs.act(id, ownerScope(request), action), id);
        if (action === 'start' || action === 'resume') onCampaignRun?.();
        return campaignView(toCampaign(row), await runs.progress(row));
      },
    );
  }

  app.get(
    '/api/v1/campaigns/:id/results',
    {
      config: access,
      schema: {
        tags,
        summary:
          "An integration campaign's contacts, in list order, with what became of each; `format=csv` answers them all as one CSV file (text/csv)",
        params: IdParams,
        querystring: Type.Object({
          cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })),
          limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
          status: Type.Optional(Type.Enum(RESULT_STATUSES)),
          format: Type.Enum(['json', 'csv'], { default: 'json' }),
        }),
        response: {
          200: {
            content: {
              'application/json': { schema: pageOf(ContactResultOut) },
              // Streamed, page by page (`resultLines`): a string in the document, a stream here.
              'text/csv': { schema: Type.Unsafe<Readable>({ type: 'string' }) },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const row = await runs.find(id, ownerScope(request));
      if (row === undefined) throw new AppError('NOT_FOUND', `No campaign ${id}`);
      if (row.type !== 'integration') {
        throw new AppError(
          'CONFLICT',
          `Campaign ${id} is a ${row.type} campaign: only an integration campaign has per-contact results`,
        );
      }
      const { cursor, limit, status, format } = request.query;
      if (format === 'csv') {
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="campaign-${id}-results.csv"`)
          .send(Readable.from(resultLines(runs, row, status)));
      }
      const page = await runs.results(row, {
        cursor: positionCursor(cursor),
        limit,
        status,
      });
      return { items: page.items, nextCursor: page.nextCursor };
    },
  );
};
