/** Integration shapes of the API (SPEC §2, §8.1), for validation and the OpenAPI document. */
import { Type, type Static } from 'typebox';
import { HTTP_METHODS, MIN_RATE_PER_SECOND, RESPONSE_ENCODINGS } from '../domain/integration.js';
import { DisplayName } from './schemas.js';

const Template = (description: string, maxLength = 65_536) =>
  Type.String({ maxLength, description });

export const HttpConfigIn = Type.Object(
  {
    url: Template('Remote URL template; must render to an absolute http: or https: URL', 8192),
    method: Type.Enum(HTTP_METHODS, { default: 'POST' }),
    body: Type.String({
      maxLength: 262_144,
      default: '',
      description: 'Request data template; ignored for GET',
    }),
    headers: Type.String({
      maxLength: 65_536,
      default: '',
      description: 'One `Name: value` per line; values are templates',
    }),
    responseEncoding: Type.Enum(RESPONSE_ENCODINGS, { default: 'json' }),
    maxRedirects: Type.Integer({ minimum: 0, maximum: 10, default: 0 }),
  },
  { additionalProperties: false },
);

export const SoapConfigIn = Type.Object(
  {
    wsdlUrl: Type.String({ minLength: 1, maxLength: 8192 }),
    operation: Type.String({ minLength: 1, maxLength: 200 }),
    service: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    port: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    params: Type.Array(
      Type.Object(
        {
          name: Type.String({ minLength: 1, maxLength: 200, pattern: '^[^.\\s]+(\\.[^.\\s]+)*$' }),
          value: Type.String({ maxLength: 65_536, default: '' }),
          secret: Type.Boolean({ default: false }),
        },
        { additionalProperties: false },
      ),
      { maxItems: 500, default: [] },
    ),
    headers: Type.String({ maxLength: 65_536, default: '' }),
    responseEncoding: Type.Literal('xml', { default: 'xml' }),
    wsSecurity: Type.Optional(
      Type.Object(
        {
          username: Type.String({ minLength: 1, maxLength: 500 }),
          password: Type.String({ minLength: 1, maxLength: 500 }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const OptionsIn = Type.Object(
  {
    timeoutMs: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
    retry: Type.Object(
      {
        maxAttempts: Type.Integer({ minimum: 1, maximum: 50, default: 8 }),
        scheduleSeconds: Type.Optional(
          Type.Array(Type.Number({ minimum: 0, maximum: 7 * 86_400 }), { maxItems: 49 }),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    maxConcurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    ratePerSecond: Type.Optional(Type.Number({ minimum: MIN_RATE_PER_SECOND, maximum: 100_000 })),
    signing: Type.Optional(
      Type.Object(
        {
          secret: Type.String({ minLength: 1, maxLength: 500 }),
          previousSecret: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
          previousExpiresAt: Type.Optional(Type.String({ format: 'date-time' })),
        },
        { additionalProperties: false },
      ),
    ),
    successStatuses: Type.Optional(
      Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), { minItems: 1, maxItems: 100 }),
    ),
    responseVariables: Type.Array(
      Type.Object(
        {
          name: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', maxLength: 100 }),
          path: Type.String({ maxLength: 500 }),
          default: Type.Optional(Type.String({ maxLength: 10_000 })),
        },
        { additionalProperties: false },
      ),
      { maxItems: 100, default: [] },
    ),
    cacheTtlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
  },
  { additionalProperties: false },
);

const Common = {
  name: DisplayName(200),
  description: Type.String({ maxLength: 2000, default: '' }),
  enabled: Type.Boolean({ default: true }),
};

export const IntegrationTypeSchema = Type.Enum(['http', 'soap']);

/** Validated in two steps: this envelope by Fastify, then `config` and `options` per type. */
export const IntegrationCreate = Type.Object(
  {
    ...Common,
    // An enum, not a union of literals: a wrong type is one 400 detail, not three.
    type: IntegrationTypeSchema,
    config: Type.Object(
      {},
      { additionalProperties: true, description: 'HttpConfig or SoapConfig, by `type`' },
    ),
    options: Type.Object(
      {},
      { additionalProperties: true, default: {}, description: 'IntegrationOptions' },
    ),
  },
  { additionalProperties: false },
);
export type IntegrationCreate = Static<typeof IntegrationCreate>;

/** `enabled` of an edit: left out, the state stored when the edit is written stays. */
const EnabledEdit = Type.Optional(
  Type.Boolean({ description: 'left out: stays as stored (an auto-disable is kept)' }),
);

/** The precondition of an edit (docs/integrations.md, "Concurrent edits"). */
export const EditHeaders = Type.Object({
  'if-match': Type.Optional(
    Type.String({
      maxLength: 1000,
      description:
        'The ETag of the read the edit is based on; another answers 409 (the integration changed or was auto-disabled since)',
    }),
  ),
});

export const IntegrationPatch = Type.Object(
  {
    name: Type.Optional(Common.name),
    // An integration's type never changes, but a PUT of the object as it was created carries
    // it: taken when it names the stored type, another answers 400 (integrations.routes.ts).
    type: Type.Optional(IntegrationTypeSchema),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    enabled: EnabledEdit,
    config: Type.Optional(
      Type.Object(
        {},
        {
          additionalProperties: true,
          description: 'a JSON Merge Patch (RFC 7396) of the current config: null removes a key',
        },
      ),
    ),
    options: Type.Optional(
      Type.Object(
        {},
        {
          additionalProperties: true,
          description: 'a JSON Merge Patch (RFC 7396) of the current options: null removes a key',
        },
      ),
    ),
  },
  { additionalProperties: false },
);
export type IntegrationPatch = Static<typeof IntegrationPatch>;

export const IntegrationOut = Type.Object({
  id: Type.String(),
  ownerId: Type.String(),
  name: Type.String(),
  description: Type.String(),
  type: IntegrationTypeSchema,
  enabled: Type.Boolean(),
  disabledReason: Type.Union([Type.String(), Type.Null()]),
  version: Type.Integer(),
  config: Type.Union([HttpConfigIn, SoapConfigIn]),
  options: OptionsIn,
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

/** `GET /api/v1/integrations/:id/health` (docs/delivery.md, "Circuit"). */
export const IntegrationHealthOut = Type.Object({
  circuit: Type.Enum(['closed', 'open', 'half-open'], {
    description: 'half-open: the next delivery goes as a probe',
  }),
  probeAt: Type.Union([Type.String(), Type.Null()], {
    description: 'an open circuit: when its cool-down ends and a probe may go',
  }),
  consecutiveFailures: Type.Integer(),
  failingSince: Type.Union([Type.String(), Type.Null()]),
  hold: Type.Union([
    Type.Object({
      reason: Type.Enum(['concurrency', 'rate', 'circuit', 'probe']),
      until: Type.String(),
    }),
    Type.Null(),
  ]),
  pending: Type.Integer(),
  inFlight: Type.Integer({ description: 'pending deliveries being sent right now' }),
});
