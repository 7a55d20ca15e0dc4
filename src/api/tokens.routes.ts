/**
 * `GET /api/v1/tokens`: the token catalog (SPEC §3) the console's pickers read. Answers the list
 * shape every list route has (`items`, `nextCursor`, always null: the catalog is one page), plus
 * the groups and the filters, so a picker needs one request.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TOKEN_GROUP_SPECS, TOKEN_GROUPS, TOKENS } from '../domain/tokens.js';
import { FILTER_DOCS } from '../template/filters.js';
import { TEMPLATE_CONTEXTS } from '../template/compile.js';

const TokenOut = Type.Object({
  token: Type.String({ description: 'As written in a template; `<name>` stands for any name' }),
  group: Type.Enum(TOKEN_GROUPS),
  type: Type.Union([
    Type.Literal('string'),
    Type.Literal('integer'),
    Type.Literal('datetime'),
    Type.Literal('phone'),
    Type.Literal('url'),
    Type.Literal('object'),
  ]),
  description: Type.String(),
  example: Type.Union([Type.String(), Type.Number(), Type.Record(Type.String(), Type.String())]),
  values: Type.Optional(Type.Array(Type.String())),
  wildcard: Type.Optional(Type.Boolean()),
});

const Catalog = Type.Object({
  items: Type.Array(TokenOut),
  nextCursor: Type.Null(),
  groups: Type.Array(Type.Object({ name: Type.Enum(TOKEN_GROUPS), description: Type.String() })),
  filters: Type.Array(
    Type.Object({
      name: Type.String(),
      args: Type.String(),
      description: Type.String(),
      example: Type.String(),
    }),
  ),
  contexts: Type.Array(Type.Enum(TEMPLATE_CONTEXTS)),
});

const catalog = {
  items: TOKENS.map(({ values, ...token }) => ({
    ...token,
    ...(values === undefined ? {} : { values: [...values] }),
  })),
  nextCursor: null,
  groups: [...TOKEN_GROUP_SPECS],
  filters: [...FILTER_DOCS],
  contexts: [...TEMPLATE_CONTEXTS],
};

export const tokensRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/v1/tokens',
    {
      config: { access: 'integration' },
      schema: {
        tags: ['tokens'],
        summary: 'Every token a template may use, with the filters and contexts',
        response: { 200: Catalog },
      },
    },
    async () => catalog,
  );
};
