import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { CALL_EVENT_TYPES, CALL_STATUSES } from '../domain/campaign.js';

const Scalar = Type.Union([
  Type.String({ maxLength: 65_536 }),
  Type.Number(),
  Type.Boolean(),
  Type.Null(),
]);

/** An IVR variable's name, as `{{ivr.<name>}}` reads it. */
const IVR_NAME = '^[A-Za-z_][A-Za-z0-9_]*$';

/**
 * One call event; known fields are typed. Unknown fields are stored with the event, but no token
 * reads them: the catalog (GET /api/v1/tokens) names every token a template may use.
 */
export const CallEventIn = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 200 }),
  type: Type.Enum(CALL_EVENT_TYPES),
  occurredAt: Type.String({ minLength: 10, maxLength: 40 }),
  campaignId: Type.String({ minLength: 1, maxLength: 100 }),
  call: Type.Object(
    {
      id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      phone: Type.Optional(Type.String({ maxLength: 100 })),
      status: Type.Optional(Type.Enum(CALL_STATUSES)),
      duration: Type.Optional(Type.Number({ minimum: 0 })),
      billsec: Type.Optional(Type.Number({ minimum: 0 })),
      attempt: Type.Optional(Type.Integer({ minimum: 0 })),
    },
    { additionalProperties: Type.Union([Scalar, Type.Object({}), Type.Array(Type.Unknown())]) },
  ),
  contact: Type.Object(
    {
      id: Type.Optional(Type.String({ maxLength: 200 })),
      phone: Type.Optional(Type.String({ maxLength: 100 })),
      custom: Type.Optional(Type.Record(Type.String(), Scalar)),
    },
    { additionalProperties: Type.Union([Scalar, Type.Object({}), Type.Array(Type.Unknown())]) },
  ),
  ivr: Type.Optional(
    // A Record's key pattern becomes `patternProperties`, which lets every other key through
    // unchecked: `propertyNames` is what refuses them.
    Type.Record(Type.String(), Type.String({ maxLength: 10_000 }), {
      propertyNames: { pattern: IVR_NAME },
    }),
  ),
});

export const checkCallEvent = Compile(CallEventIn);
