/** How campaigns read, and the settings an integration campaign takes (docs/campaigns.md). */
import { Type } from 'typebox';
import { MIN_RATE_PER_SECOND } from '../domain/integration.js';
import {
  CAMPAIGN_STATES,
  CAMPAIGN_TYPES,
  type Campaign,
  type CampaignProgress,
} from '../domain/campaign.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

export const Progress = Type.Object({
  total: Type.Integer(),
  pending: Type.Integer(),
  succeeded: Type.Integer(),
  failed: Type.Integer(),
  cancelled: Type.Integer(),
});

/** A campaign; the fields after `updatedAt` are an integration campaign's only. */
export const CampaignOut = Type.Object({
  id: Type.String(),
  ownerId: Type.String(),
  name: Type.String(),
  // An enum, not a union of literals: a wrong type is one 400 detail, not four.
  type: Type.Enum(CAMPAIGN_TYPES),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  contactListId: Type.Optional(Nullable(Type.String())),
  integrationId: Type.Optional(Nullable(Type.String())),
  ratePerSecond: Type.Optional(Nullable(Type.Number())),
  state: Type.Optional(Type.Enum(CAMPAIGN_STATES)),
  startedAt: Type.Optional(Nullable(Type.String())),
  finishedAt: Type.Optional(Nullable(Type.String())),
  stopReason: Type.Optional(Nullable(Type.String())),
  progress: Type.Optional(Progress),
});

const REFERENCE_ID = { minLength: 1, maxLength: 100 };
const ReferenceId = Type.String(REFERENCE_ID);
/**
 * Whole contacts per second, or a fraction (0.5: one every 2 s): at least one contact every 28
 * hours (`MIN_RATE_PER_SECOND`), at most 10,000 a second.
 */
const RATE_PER_SECOND = { minimum: MIN_RATE_PER_SECOND, maximum: 10_000 };
const RatePerSecond = Type.Number(RATE_PER_SECOND);

/** The settings of an integration campaign as POST takes them. */
export const RunSettingsBody = {
  contactListId: Type.Optional(ReferenceId),
  integrationId: Type.Optional(ReferenceId),
  ratePerSecond: Type.Optional(RatePerSecond),
};

/**
 * A setting PATCH may clear with `null`, as a type list rather than a union: a value of a listed
 * type is judged as sent (`ratePerSecond: 0` is `must be >= 0.00001`), one detail. (While request
 * bodies were coerced, a union's `null` branch made `0`, `""` and `false` null: `ratePerSecond: 0`
 * cleared the rate.)
 */
const NullableInput = <T>(type: 'string' | 'number', rules: object) =>
  Type.Unsafe<T | null>({ ...rules, type: [type, 'null'] });

/** The same for PATCH, where `null` clears one (before the campaign starts). */
export const RunSettingsPatch = {
  contactListId: Type.Optional(NullableInput<string>('string', REFERENCE_ID)),
  integrationId: Type.Optional(NullableInput<string>('string', REFERENCE_ID)),
  ratePerSecond: Type.Optional(NullableInput<number>('number', RATE_PER_SECOND)),
};

export const RUN_SETTINGS = ['contactListId', 'integrationId', 'ratePerSecond'] as const;

/**
 * A campaign as the API answers it: an integration campaign with its settings, state and progress,
 * any other without them.
 */
export function campaignView(campaign: Campaign, progress?: CampaignProgress) {
  const base = {
    id: campaign.id,
    ownerId: campaign.ownerId,
    name: campaign.name,
    type: campaign.type,
    createdAt: campaign.createdAt,
    updatedAt: campaign.updatedAt,
  };
  if (campaign.type !== 'integration') return base;
  return {
    ...base,
    contactListId: campaign.contactListId,
    integrationId: campaign.integrationId,
    ratePerSecond: campaign.ratePerSecond,
    state: campaign.state,
    startedAt: campaign.startedAt,
    finishedAt: campaign.finishedAt,
    stopReason: campaign.stopReason,
    ...(progress === undefined ? {} : { progress }),
  };
}
