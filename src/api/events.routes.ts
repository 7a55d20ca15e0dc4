/**
 * `POST /api/v1/events` (permission `event_ingest`): one call event or a batch of up to 1,000.
 * A batch is judged event by event; the answer (202) comes after the accepted events and their
 * deliveries are stored in one transaction.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError, mustBeTypes, schemaMessage } from '../errors.js';
import { ownerScope } from '../auth/authorize.js';
import type { EventStore, AcceptedEvent } from '../store/event-store.js';
import {
  EVENT_BODY_LIMIT,
  MAX_BATCH,
  idProblem,
  parseTimestamp,
  timestampProblem,
  type CallEvent,
} from '../domain/call-event.js';
import { checkCallEvent } from './events.schemas.js';
import type { Metrics } from '../metrics.js';
import type { ActivityRecorder } from '../store/activity-store.js';
import { deepField, MAX_BODY_DEPTH } from './json-depth.js';

const IngestAnswer = Type.Object({
  accepted: Type.Array(Type.String()),
  duplicates: Type.Array(Type.String()),
  rejected: Type.Array(
    Type.Object({
      id: Type.Union([Type.String(), Type.Null()]),
      index: Type.Integer(),
      field: Type.Optional(Type.String()),
      error: Type.String(),
    }),
  ),
});

interface Rejection {
  id: string | null;
  index: number;
  field?: string;
  error: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `null`, `an array`, `an object`, `a string`…: what kind of JSON value came. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** How deep an event's objects and arrays may nest: deeper, storing it (JSON) would overflow. */
export const MAX_EVENT_DEPTH = MAX_BODY_DEPTH;

/** The first problem of an event, named by field. */
function problemOf(value: unknown): { field?: string; error: string } | undefined {
  // A batch entry that is not an object has no field to name: the schema would say " must be
  // object".
  if (!isRecord(value)) return { error: `an event must be a JSON object, not ${kindOf(value)}` };
  const deep = deepField(value, MAX_EVENT_DEPTH);
  if (deep !== undefined) {
    return {
      field: deep,
      error: `${deep} nests objects or arrays deeper than ${MAX_EVENT_DEPTH} levels`,
    };
  }
  if (!checkCallEvent.Check(value)) {
    const issues = [...checkCallEvent.Errors(value)] as unknown as {
      keyword: string;
      instancePath: string;
      params: Record<string, unknown>;
      message: string;
    }[];
    const first = issues.find((i) => i.params['requiredProperties'] !== undefined) ?? issues[0];
    if (first === undefined) return { error: 'is not a call event' };
    const path = first.instancePath.split('/').filter(Boolean);
    const missing = first.params['requiredProperties'] as string[] | undefined;
    if (missing !== undefined && missing.length > 0) path.push(missing[0]!);
    const field = path.join('.');
    // A value of none of a union's types is reported once per type tried: name them all, not
    // only the first ("contact.custom.plan must be string" for an array, where numbers are fine).
    // But a value of one of them that breaks that type's rule (a string over its length) is
    // told the rule, not the other types.
    const here = issues.filter((i) => i.instancePath === first.instancePath);
    const types = here.filter((i) => i.keyword === 'type').map((i) => String(i.params['type']));
    const rule =
      types.length > 1
        ? here.find((i) => i.keyword !== 'type' && i.keyword !== 'anyOf')
        : undefined;
    const wrong =
      rule !== undefined
        ? schemaMessage(rule.message, rule.params)
        : types.length > 1
          ? mustBeTypes(types)
          : schemaMessage(first.message, first.params);
    return {
      ...(field === '' ? {} : { field }),
      error: missing ? `${field} is required` : `${field} ${wrong}`,
    };
  }
  const event = value as CallEvent;
  // Stored in columns of their own (and matched).
  const keys: [string, unknown][] = [
    ['id', event.id],
    ['campaignId', event.campaignId],
    ['call.id', event.call.id],
  ];
  for (const [field, key] of keys) {
    const problem = typeof key === 'string' ? idProblem(key) : undefined;
    if (problem !== undefined) return { field, error: `${field} ${problem}` };
  }
  const when = timestampProblem(event.occurredAt);
  if (when !== undefined) return { field: 'occurredAt', error: `occurredAt ${when}` };
  return undefined;
}

export interface EventsRoutesOptions {
  events: EventStore;
  metrics: Metrics;
  /** Counts accepted events per owner and minute, for the dashboard. */
  activity?: Pick<ActivityRecorder, 'noteEvents'>;
  onEnqueued?: () => void;
}

export const eventsRoutes: FastifyPluginAsyncTypebox<EventsRoutesOptions> = async (
  app,
  { events: store, metrics, activity, onEnqueued },
) => {
  app.post(
    '/api/v1/events',
    {
      config: { access: 'event_ingest' },
      bodyLimit: EVENT_BODY_LIMIT,
      schema: {
        tags: ['events'],
        summary: 'Report one call event, or `{events: [...]}` (up to 1,000, 10 MiB)',
        body: Type.Object(
          {},
          { additionalProperties: true, description: 'A CallEvent, or {events: CallEvent[]}' },
        ),
        response: { 202: IngestAnswer },
      },
    },
    async (request, reply) => {
      const body: unknown = request.body;
      let items: unknown[];
      let single = false;
      if (isRecord(body) && Array.isArray(body['events'])) {
        items = body['events'];
        if (items.length > MAX_BATCH) {
          throw new AppError('VALIDATION_FAILED', `A batch holds at most ${MAX_BATCH} events`, [
            { field: 'body.events', message: `has ${items.length} events; at most ${MAX_BATCH}` },
          ]);
        }
      } else if (isRecord(body) && ('id' in body || 'type' in body)) {
        items = [body];
        single = true;
      } else if (isRecord(body) && 'events' in body) {
        throw new AppError('VALIDATION_FAILED', 'A batch is {events: [...]}, an array of events', [
          {
            field: 'body.events',
            message: `must be an array of events, not ${kindOf(body['events'])}`,
          },
        ]);
      } else {
        throw new AppError(
          'VALIDATION_FAILED',
          'The body is neither a call event nor {events: [...]}',
          [{ field: 'body', message: 'expected a call event or {events: [...]}' }],
        );
      }

      const rejected: Rejection[] = [];
      const valid: { index: number; item: AcceptedEvent }[] = [];
      items.forEach((value, index) => {
        const id = isRecord(value) && typeof value['id'] === 'string' ? value['id'] : null;
        const problem = problemOf(value);
        if (problem !== undefined) rejected.push({ id, index, ...problem });
        else
          valid.push({
            index,
            item: {
              event: value as CallEvent,
              occurredAtMs: parseTimestamp((value as CallEvent).occurredAt)!,
            },
          });
      });

      const campaignIds = [...new Set(valid.map((v) => v.item.event.campaignId))];
      const campaigns = await store.campaignBindings(campaignIds, ownerScope(request));
      const known = valid.filter(({ index, item }) => {
        if (campaigns.has(item.event.campaignId)) return true;
        rejected.push({
          id: item.event.id,
          index,
          field: 'campaignId',
          error: `unknown campaign ${item.event.campaignId}`,
        });
        return false;
      });

      if (single && rejected.length > 0) {
        // Refused as the request's answer, but still an event rejected at ingest.
        metrics.eventsIngested.inc({ result: 'rejected' });
        const [problem] = rejected;
        throw new AppError('VALIDATION_FAILED', 'The event is not valid', [
          {
            field: problem!.field === undefined ? 'body' : `body.${problem!.field}`,
            message: problem!.error,
          },
        ]);
      }
      const result = await store.ingest(
        known.map((k) => k.item),
        campaigns,
      );
      request.log.info(
        {
          accepted: result.accepted.length,
          duplicates: result.duplicates.length,
          rejected: rejected.length,
          deliveries: result.deliveries,
        },
        'events ingested',
      );
      metrics.eventsIngested.inc({ result: 'accepted' }, result.accepted.length);
      metrics.eventsIngested.inc({ result: 'duplicate' }, result.duplicates.length);
      metrics.eventsIngested.inc({ result: 'rejected' }, rejected.length);
      for (const [owner, count] of result.acceptedByOwner) activity?.noteEvents(owner, count);
      if (result.deliveries > 0) onEnqueued?.();
      rejected.sort((a, b) => a.index - b.index);
      return reply
        .code(202)
        .send({ accepted: result.accepted, duplicates: result.duplicates, rejected });
    },
  );
};
