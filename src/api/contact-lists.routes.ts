/**
 * Contact lists and their contacts (permission `contact`): create, read, rename, delete a list;
 * import contacts into it as JSON or CSV, all or nothing, each problem named by row and field;
 * read them back in their order (docs/campaigns.md).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { AppError, type ErrorDetail } from '../errors.js';
import { ownerScope, principalOf } from '../auth/authorize.js';
import type { ContactStore } from '../store/contact-store.js';
import { decodeCsv, parseCsv } from '../domain/csv.js';
import { charsetOf } from '../domain/media-type.js';
import {
  MAX_CONTACT_ID,
  MAX_IMPORT_CONTACTS,
  contactOf,
  contactProblems,
  contactsFromCsv,
  type ContactInput,
  type ContactProblem,
} from '../domain/contact.js';
import { DisplayName, IdParams, PageQuery, pageOf } from './schemas.js';
import { idCursor, withIdCursor } from './page-cursor.js';

const access = { access: 'contact' } as const;
const tags = ['contacts'];

const ListOut = Type.Object({
  id: Type.String(),
  ownerId: Type.String(),
  name: Type.String(),
  size: Type.Integer(),
  createdAt: Type.String(),
});
const ListName = DisplayName(200);

const CustomValue = Type.Unsafe<string | number | boolean | null>({
  type: ['string', 'number', 'boolean', 'null'],
});
const Text = Type.Optional(Type.String());
const ContactBody = Type.Object(
  {
    id: Type.Optional(Type.String({ maxLength: MAX_CONTACT_ID })),
    phone: Type.String(),
    firstName: Text,
    lastName: Text,
    email: Text,
    address: Text,
    description: Text,
    custom: Type.Optional(Type.Record(Type.String(), CustomValue)),
  },
  { additionalProperties: false },
);
/** A stored contact: as imported, with its id (given or made) and custom fields always. */
const ContactOut = Type.Object({
  ...ContactBody.properties,
  id: Type.String(),
  custom: Type.Record(Type.String(), CustomValue),
});
const ImportJson = Type.Object(
  { contacts: Type.Array(ContactBody, { minItems: 1, maxItems: MAX_IMPORT_CONTACTS }) },
  { additionalProperties: false },
);
const ImportAnswer = Type.Object({
  listId: Type.String(),
  added: Type.Integer(),
  size: Type.Integer(),
});
const PositionPage = Type.Object({
  cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })),
  limit: PageQuery.properties.limit,
});

/** At most this many problems are listed in one answer (a whole bad file would be thousands). */
const MAX_DETAILS = 100;

/** A refused import: its problems (the first `MAX_DETAILS`) and how many there were. */
function refuseImport(what: string, problems: readonly ErrorDetail[]): AppError {
  const more = problems.length > MAX_DETAILS ? ` (the first ${MAX_DETAILS} are listed)` : '';
  return new AppError(
    'VALIDATION_FAILED',
    `${what}: ${problems.length} problem${problems.length === 1 ? '' : 's'}${more}; nothing was imported`,
    problems.slice(0, MAX_DETAILS),
  );
}

/** A CSV problem as an error detail: `row 3 (line 4), phone` and the message. */
function csvDetail(problem: ContactProblem): ErrorDetail {
  const where = problem.row === undefined ? '' : `row ${problem.row}, `;
  return {
    field: `${where}${problem.field}`,
    message: problem.message,
    ...(problem.line === undefined ? {} : { line: problem.line }),
    ...(problem.row === undefined ? {} : { row: problem.row }),
  };
}

/** Contacts of a JSON import, or the problems of each by `body.contacts.<index>.<field>`. */
function fromJson(
  body: Static<typeof ImportJson>,
): { contacts: ContactInput[] } | { problems: ErrorDetail[] } {
  const problems: ErrorDetail[] = [];
  const contacts = body.contacts.map((contact, index) => {
    const { custom, ...values } = contact;
    const input = contactOf(values, custom);
    for (const problem of contactProblems(input))
      problems.push({ field: `body.contacts.${index}.${problem.field}`, message: problem.message });
    return input;
  });
  return problems.length > 0 ? { problems } : { contacts };
}

/** Problems of ids repeated within one import, on each contact that repeats an earlier one's. */
function repeatedIds(
  contacts: readonly ContactInput[],
  where: (index: number) => { field: string; name: string; line?: number; row?: number },
): ErrorDetail[] {
  const first = new Map<string, number>();
  const problems: ErrorDetail[] = [];
  contacts.forEach((contact, index) => {
    if (contact.id === undefined) return;
    const earlier = first.get(contact.id);
    if (earlier === undefined) {
      first.set(contact.id, index);
      return;
    }
    const { name, ...at } = where(index);
    problems.push({ ...at, message: `repeats id "${contact.id}" of ${where(earlier).name}` });
  });
  return problems;
}

export interface ContactListRoutesOptions {
  contacts: ContactStore;
}

export const contactListsRoutes: FastifyPluginAsyncTypebox<ContactListRoutesOptions> = async (
  app,
  { contacts },
) => {
  // A CSV import is the body as text (this plugin only; the rest of the API takes JSON only),
  // decoded as its `charset` says (UTF-8 without one): bytes that are not are refused, not
  // replaced.
  app.addContentTypeParser('text/csv', { parseAs: 'buffer' }, (request, body, done) => {
    const charset = charsetOf(request.headers['content-type'])?.toLowerCase();
    const decoded = decodeCsv(body as Buffer, charset);
    if ('text' in decoded) return done(null, decoded.text);
    if ('unsupported' in decoded) {
      return done(
        new AppError(
          'UNSUPPORTED_MEDIA_TYPE',
          `The CSV file's charset "${decoded.unsupported}" is not one Callhook can read: send UTF-8 (or name the file's encoding, e.g. windows-1252)`,
          [{ field: 'headers.content-type', message: `names charset "${decoded.unsupported}"` }],
        ),
      );
    }
    const { line, column, message } = decoded.problem;
    return done(
      refuseImport('The CSV file cannot be read', [{ field: 'body', line, column, message }]),
    );
  });

  const mustFind = async (id: string, owner: string | undefined) => {
    const list = await contacts.findList(id, owner);
    if (list === undefined) throw new AppError('NOT_FOUND', `No contact list ${id}`);
    return list;
  };

  app.get(
    '/api/v1/contact-lists',
    {
      config: access,
      schema: { tags, querystring: PageQuery, response: { 200: pageOf(ListOut) } },
    },
    async (request) => {
      const { cursor, limit } = request.query;
      const page = { cursor: idCursor(cursor), limit };
      return withIdCursor(await contacts.listLists(ownerScope(request), page));
    },
  );

  app.post(
    '/api/v1/contact-lists',
    {
      config: access,
      schema: {
        tags,
        summary: 'Create an empty contact list; import contacts with POST …/:id/contacts',
        body: Type.Object({ name: ListName }, { additionalProperties: false }),
        response: { 201: ListOut },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await contacts.createList(principalOf(request).user.id, request.body.name)),
  );

  app.get(
    '/api/v1/contact-lists/:id',
    { config: access, schema: { tags, params: IdParams, response: { 200: ListOut } } },
    async (request) => mustFind(request.params.id, ownerScope(request)),
  );

  app.patch(
    '/api/v1/contact-lists/:id',
    {
      config: access,
      schema: {
        tags,
        params: IdParams,
        body: Type.Object({ name: ListName }, { additionalProperties: false }),
        response: { 200: ListOut },
      },
    },
    async (request) => {
      await mustFind(request.params.id, ownerScope(request));
      await contacts.renameList(request.params.id, request.body.name);
      return mustFind(request.params.id, undefined);
    },
  );

  app.delete(
    '/api/v1/contact-lists/:id',
    { config: access, schema: { tags, params: IdParams, response: { 204: Type.Null() } } },
    async (request, reply) => {
      const { id } = request.params;
      const deleted = await contacts.deleteList(id, ownerScope(request));
      if (deleted === 'not-found') throw new AppError('NOT_FOUND', `No contact list ${id}`);
      if (deleted !== 'deleted') {
        throw new AppError(
          'CONFLICT',
          `Contact list ${id} is the list of campaign ${deleted.campaignId}: delete the campaign first`,
          { campaignId: deleted.campaignId },
        );
      }
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/contact-lists/:id/contacts',
    {
      config: access,
      schema: {
        tags,
        summary: "A list's contacts in their order",
        params: IdParams,
        querystring: PositionPage,
        response: { 200: pageOf(ContactOut) },
      },
    },
    async (request) => {
      const list = await mustFind(request.params.id, ownerScope(request));
      return contacts.listContacts(list.id, request.query);
    },
  );

  app.post(
    '/api/v1/contact-lists/:id/contacts',
    {
      config: access,
      schema: {
        tags,
        summary:
          'Add contacts to a list, after those it has: `{"contacts": […]}` as JSON, or a CSV file (text/csv) with a header row; all or none',
        params: IdParams,
        body: {
          content: {
            'application/json': { schema: ImportJson },
            'text/csv': { schema: Type.String() },
          },
        },
        response: { 201: ImportAnswer },
      },
    },
    async (request, reply) => {
      const list = await mustFind(request.params.id, ownerScope(request));
      const body = request.body as Static<typeof ImportJson> | string;
      let imported: ContactInput[];
      let where: Parameters<typeof repeatedIds>[1];
      if (typeof body === 'string') {
        const parsed = parseCsv(body);
        if ('problem' in parsed) {
          const { line, column, message } = parsed.problem;
          throw refuseImport('The CSV file cannot be read', [
            { field: 'body', line, column, message },
          ]);
        }
        const read = contactsFromCsv(parsed.records);
        if ('problems' in read)
          throw refuseImport('The CSV file has bad rows', read.problems.map(csvDetail));
        imported = read.contacts;
        const records = parsed.records;
        where = (index) => ({
          field: `row ${index + 1}, id`,
          name: `row ${index + 1}`,
          row: index + 1,
          line: records[index + 1]!.line,
        });
      } else {
        const read = fromJson(body);
        if ('problems' in read) throw refuseImport('The contacts are not valid', read.problems);
        imported = read.contacts;
        where = (index) => ({ field: `body.contacts.${index}.id`, name: `contacts.${index}` });
      }
      const repeated = repeatedIds(imported, where);
      if (repeated.length > 0) throw refuseImport('Contact ids repeat', repeated);
      const added = await contacts.addContacts(list.id, imported);
      if (typeof added !== 'number') {
        throw new AppError(
          'CONFLICT',
          `${added.taken.length} of these contacts have an id the list holds already; nothing was imported`,
          added.taken.slice(0, MAX_DETAILS).map(({ index, id }) => {
            const { name, ...at } = where(index);
            return { ...at, message: `id "${id}" is in the list already (${name})` };
          }),
        );
      }
      return reply.code(201).send({ listId: list.id, added: imported.length, size: added });
    },
  );
};
