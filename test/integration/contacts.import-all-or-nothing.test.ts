/**
 * Contact lists (permission `contact`): contacts imported as JSON or CSV are appended in their
 * order; a bad row refuses the whole import with its row (and line) and field named; ids are
 * unique in a list; another user's list is 404; a list a campaign uses is not deleted.
 */
import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { useAppPerTest } from '../helpers/app.js';

interface ErrorAnswer {
  error: { code: string; message: string; details?: Record<string, unknown>[] };
}

describe.each(DIALECTS)('contact lists on %s', (backend) => {
  const app = useAppPerTest(backend, ['contact', 'campaign', 'integration']);
  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    app.t.app.inject({
      method,
      url,
      headers: app.alice.headers,
      ...(payload === undefined ? {} : { payload }),
    });
  const csv = (url: string, text: string) =>
    app.t.app.inject({
      method: 'POST',
      url,
      headers: { ...app.alice.headers, 'content-type': 'text/csv' },
      payload: text,
    });
  const newList = async () => {
    await app.setup();
    const created = await call('POST', '/api/v1/contact-lists', { name: 'Spring leads' });
    expect(created.statusCode, created.body).toBe(201);
    const list = created.json<{ id: string; size: number }>();
    expect(list.size).toBe(0);
    return `/api/v1/contact-lists/${list.id}`;
  };
  const contactsOf = async (url: string) =>
    (await call('GET', `${url}/contacts?limit=500`)).json<{ items: Record<string, unknown>[] }>()
      .items;

  it('appends JSON contacts in order, generating the ids not given, and pages them back', async () => {
    const url = await newList();
    const first = await call('POST', `${url}/contacts`, {
      contacts: [
        { id: 'k-1', phone: '+15551230001', firstName: 'Ana', custom: { plan: 'gold', seats: 3 } },
        { phone: '+1 (555) 123-0002', email: '', lastName: 'Bo' },
      ],
    });
    expect(first.statusCode, first.body).toBe(201);
    expect(first.json()).toMatchObject({ added: 2, size: 2 });
    const second = await call('POST', `${url}/contacts`, {
      contacts: [{ id: 'k-3', phone: '5551230003' }],
    });
    expect(second.json()).toMatchObject({ added: 1, size: 3 });
    const page1 = await call('GET', `${url}/contacts?limit=2`);
    const { items, nextCursor } = page1.json<{
      items: Record<string, unknown>[];
      nextCursor: string;
    }>();
    expect(items[0]).toEqual({
      id: 'k-1',
      phone: '+15551230001',
      firstName: 'Ana',
      custom: { plan: 'gold', seats: 3 },
    });
    // An empty optional field is no value.
    expect(items[1]).toEqual({
      id: expect.any(String),
      phone: '+1 (555) 123-0002',
      lastName: 'Bo',
      custom: {},
    });
    const page2 = await call('GET', `${url}/contacts?limit=2&cursor=${nextCursor}`);
    expect(page2.json()).toEqual({
      items: [{ id: 'k-3', phone: '5551230003', custom: {} }],
      nextCursor: null,
    });
    expect((await call('GET', url)).json()).toMatchObject({ name: 'Spring leads', size: 3 });
  });

  it('reads CSV: named columns in any spelling, custom columns, quoted cells, CRLF, BOM, semicolons, cleared rows', async () => {
    const url = await newList();
    const text =
      '\uFEFFPhone,First Name,last_name,E-mail,Plan type,id\r\n' +
      '+15551230001,"Ana, Maria","O""Neil",ana@example.com,gold,k-1\r\n' +
      '\r\n' +
      // A row a spreadsheet cleared: separators only, as many as it likes.
      ',,,,,\r\n' +
      ',,\r\n' +
      // Spaces only, as a text editor leaves them: blank too.
      '   \r\n' +
      ' , ,\t,\r\n' +
      '+15551230002,Bo,,,"two\nlines",k-2\r\n';
    const imported = await csv(`${url}/contacts`, text);
    expect(imported.statusCode, imported.body).toBe(201);
    expect(imported.json()).toMatchObject({ added: 2, size: 2 });
    expect(await contactsOf(url)).toEqual([
      {
        id: 'k-1',
        phone: '+15551230001',
        firstName: 'Ana, Maria',
        lastName: 'O"Neil',
        email: 'ana@example.com',
        custom: { 'Plan type': 'gold' },
      },
      { id: 'k-2', phone: '+15551230002', firstName: 'Bo', custom: { 'Plan type': 'two\nlines' } },
    ]);
    // A file of one column ending in a line of spaces.
    const trailing = await csv(`${url}/contacts`, 'phone\n+15551230009\n  \n');
    expect(trailing.statusCode, trailing.body).toBe(201);
    expect(trailing.json()).toMatchObject({ added: 1, size: 3 });
    const semicolons = await csv(`${url}/contacts`, 'phone;firstName\n+15551230003;Cy\n');
    expect(semicolons.statusCode, semicolons.body).toBe(201);
    expect((await contactsOf(url))[3]).toMatchObject({ phone: '+15551230003', firstName: 'Cy' });
  });

  it('refuses a CSV file with bad rows whole, naming each row, line and field', async () => {
    const url = await newList();
    const text = [
      'phone,firstName,email',
      '+15551230001,Ana,ana@example.com',
      'not a phone,Bo,bo@example.com',
      '"+15551230003","Cy\nwith a second line",cy-at-example.com',
      '+15551230004,Di',
      ',Ed,',
    ].join('\n');
    const refused = await csv(`${url}/contacts`, text);
    expect(refused.statusCode, refused.body).toBe(400);
    const { error } = refused.json<ErrorAnswer>();
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toBe('The CSV file has bad rows: 4 problems; nothing was imported');
    expect(error.details).toEqual([
      {
        field: 'row 2, phone',
        row: 2,
        line: 3,
        message: expect.stringContaining('is not a phone number ("not a phone")'),
      },
      {
        field: 'row 3, email',
        row: 3,
        line: 4,
        message: 'is not an email address ("cy-at-example.com")',
      },
      { field: 'row 4, row', row: 4, line: 6, message: 'has 2 cells; the header has 3' },
      { field: 'row 5, phone', row: 5, line: 7, message: 'is required' },
    ]);
    expect(await contactsOf(url)).toEqual([]);
    expect((await call('GET', url)).json()).toMatchObject({ size: 0 });
  });

  it('refuses CSV it cannot read, or without contacts or a phone column, saying where', async () => {
    const url = await newList();
    const cases: [string, Record<string, unknown>][] = [
      [
        'phone\n"+15551230001\n',
        { field: 'body', line: 2, column: 1, message: 'a quoted cell is never closed' },
      ],
      [
        'phone,name\n+1555"1230001,Ana\n',
        { field: 'body', line: 2, column: 6, message: 'a quote inside a cell that is not quoted' },
      ],
      ['', { field: 'header', line: 1, message: 'the file is empty' }],
      [
        'phone,firstName\n',
        { field: 'header', line: 1, message: 'no contacts follow the header row' },
      ],
      [
        'mobile,firstName\n+15551230001,Ana\n',
        {
          field: 'header',
          line: 1,
          message: 'has no phone column (the columns are "mobile", "firstName")',
        },
      ],
      [
        'phone,First Name,firstname\n1,2,3\n',
        {
          field: 'header, column 3',
          line: 1,
          message: '"firstname" names the same field as column 2',
        },
      ],
    ];
    for (const [text, detail] of cases) {
      const refused = await csv(`${url}/contacts`, text);
      expect(refused.statusCode, JSON.stringify(text)).toBe(400);
      expect(refused.json<ErrorAnswer>().error.details, JSON.stringify(text)).toEqual([detail]);
    }
    expect((await call('GET', url)).json()).toMatchObject({ size: 0 });
  });

  it('refuses JSON contacts with bad fields whole, naming each by index and field', async () => {
    const url = await newList();
    const refused = await call('POST', `${url}/contacts`, {
      contacts: [
        { phone: '+15551230001' },
        { phone: '12' },
        { phone: '+15551230003', email: 'nope', firstName: 'A\u0000B' },
        { phone: '+15551230004', custom: { ['x'.repeat(101)]: 'y', note: 'z'.repeat(1001) } },
      ],
    });
    expect(refused.statusCode, refused.body).toBe(400);
    expect(refused.json<ErrorAnswer>().error.details).toEqual([
      {
        field: 'body.contacts.1.phone',
        message: expect.stringContaining('is not a phone number ("12")'),
      },
      { field: 'body.contacts.2.firstName', message: 'must not contain NUL (\\u0000)' },
      { field: 'body.contacts.2.email', message: 'is not an email address ("nope")' },
      {
        field: `body.contacts.3.custom.${'x'.repeat(101)}`,
        message: 'has a name that is 101 characters long; at most 100',
      },
      { field: 'body.contacts.3.custom.note', message: 'is 1001 characters long; at most 1000' },
    ]);
    const wrongShape = await call('POST', `${url}/contacts`, {
      contacts: [{ phone: '+15551230001', nickname: 'x' }, { firstName: 'no phone' }],
    });
    expect(wrongShape.statusCode).toBe(400);
    expect(wrongShape.json<ErrorAnswer>().error.details).toEqual([
      { field: 'body.contacts.0.nickname', message: 'must NOT have additional properties' },
      { field: 'body.contacts.1.phone', message: "must have required property 'phone'" },
    ]);
    const empty = await call('POST', `${url}/contacts`, { contacts: [] });
    expect(empty.statusCode).toBe(400);
    expect(empty.json<ErrorAnswer>().error.details).toEqual([
      { field: 'body.contacts', message: 'must NOT have fewer than 1 items' },
    ]);
    expect((await call('GET', url)).json()).toMatchObject({ size: 0 });
  });

  it('keeps ids unique in a list (naming both rows) and takes repeated phone numbers', async () => {
    const url = await newList();
    const repeated = await csv(
      `${url}/contacts`,
      'id,phone\nk-1,+15551230001\nk-2,+15551230002\nk-1,+15551230003\n',
    );
    expect(repeated.statusCode).toBe(400);
    expect(repeated.json<ErrorAnswer>().error.details).toEqual([
      { field: 'row 3, id', row: 3, line: 4, message: 'repeats id "k-1" of row 1' },
    ]);
    const ok = await call('POST', `${url}/contacts`, {
      contacts: [
        { id: 'k-1', phone: '+15551230001' },
        { id: 'k-2', phone: '+15551230001' },
      ],
    });
    expect(ok.statusCode, ok.body).toBe(201);
    const taken = await call('POST', `${url}/contacts`, {
      contacts: [
        { id: 'k-3', phone: '+15551230003' },
        { id: 'k-2', phone: '+15551230004' },
      ],
    });
    expect(taken.statusCode).toBe(409);
    expect(taken.json<ErrorAnswer>().error).toEqual({
      code: 'CONFLICT',
      message: '1 of these contacts have an id the list holds already; nothing was imported',
      details: [
        { field: 'body.contacts.1.id', message: 'id "k-2" is in the list already (contacts.1)' },
      ],
    });
    expect((await call('GET', url)).json()).toMatchObject({ size: 2 });
  });

  it("answers 404 for another user's list, and keeps a list a campaign uses", async () => {
    const url = await newList();
    const bob = await app.t.user({ grants: ['contact'] });
    for (const [method, path] of [
      ['GET', url],
      ['GET', `${url}/contacts`],
      ['PATCH', url],
      ['DELETE', url],
      ['POST', `${url}/contacts`],
    ] as const) {
      const answer = await app.t.app.inject({
        method,
        url: path,
        headers: bob.headers,
        ...(method === 'PATCH' ? { payload: { name: 'mine' } } : {}),
        ...(method === 'POST' ? { payload: { contacts: [{ phone: '+15551230001' }] } } : {}),
      });
      expect(answer.statusCode, `${method} ${path}`).toBe(404);
    }
    const listId = url.split('/').at(-1)!;
    const integration = await call('POST', '/api/v1/integrations', {
      name: 'CRM',
      type: 'http',
      config: { url: 'https://crm.example/contacts', method: 'POST' },
    });
    const campaign = await call('POST', '/api/v1/campaigns', {
      id: 'spring',
      name: 'Spring',
      type: 'integration',
      contactListId: listId,
      integrationId: integration.json<{ id: string }>().id,
      ratePerSecond: 1,
    });
    expect(campaign.statusCode, campaign.body).toBe(201);
    const inUse = await call('DELETE', url);
    expect(inUse.statusCode).toBe(409);
    expect(inUse.json<ErrorAnswer>().error.message).toBe(
      `Contact list ${listId} is the list of campaign spring: delete the campaign first`,
    );
    expect((await call('DELETE', '/api/v1/campaigns/spring')).statusCode).toBe(204);
    expect((await call('DELETE', url)).statusCode).toBe(204);
    expect((await call('GET', url)).statusCode).toBe(404);
  });

  it('refuses CSV bytes that are not UTF-8 (naming where), and reads the encoding its charset names', async () => {
    const url = await newList();
    // Excel's "CSV" on Windows: Windows-1252, where é is the single byte 0xE9.
    const latin = Buffer.from('phone,firstName\n+15551230001,Ana\n+15551230002,José\n', 'latin1');
    const send = (bytes: Buffer, contentType: string) =>
      app.t.app.inject({
        method: 'POST',
        url: `${url}/contacts`,
        headers: { ...app.alice.headers, 'content-type': contentType },
        payload: bytes,
      });
    const refused = await send(latin, 'text/csv');
    expect(refused.statusCode, refused.body).toBe(400);
    expect(refused.json<ErrorAnswer>().error).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: 'The CSV file cannot be read: 1 problem; nothing was imported',
      details: [
        {
          field: 'body',
          line: 3,
          column: 17,
          message: expect.stringMatching(/^byte 0xE9 is not UTF-8: save the file as UTF-8/),
        },
      ],
    });
    // A sequence cut short is placed at its first byte: the 2-byte é's lead without its tail.
    const cut = await send(
      Buffer.from([...Buffer.from('phone\n+1555123'), 0xc3, 0x0a]),
      'text/csv',
    );
    expect(cut.json<ErrorAnswer>().error.details).toEqual([
      expect.objectContaining({
        line: 2,
        column: 9,
        message: expect.stringMatching(/^byte 0xC3 /),
      }),
    ]);
    expect((await call('GET', url)).json()).toMatchObject({ size: 0 });

    const named = await send(latin, 'text/csv; charset="ISO-8859-1"');
    expect(named.statusCode, named.body).toBe(201);
    expect((await contactsOf(url)).map((contact) => contact['firstName'])).toEqual(['Ana', 'José']);
    const unknown = await send(latin, 'text/csv; charset=x-made-up');
    expect(unknown.statusCode, unknown.body).toBe(415);
    expect(unknown.json<ErrorAnswer>().error.message).toContain('"x-made-up"');
    // UTF-8, with or without its byte-order mark or charset, reads as before.
    const utf8 = await send(
      Buffer.from('\uFEFFphone,firstName\n+15551230003,Zoë\n'),
      'text/csv; charset=utf-8',
    );
    expect(utf8.statusCode, utf8.body).toBe(201);
    expect((await call('GET', url)).json()).toMatchObject({ size: 3 });
  });

  it('reads Windows-1252 bytes 0x80 to 0x9F as that encoding has them (€, curly quotes, Š, œ), whatever its label', async () => {
    const url = await newList();
    // Excel on Windows: “Cœur” €5 and Šimon in Windows-1252, where those are single bytes in
    // 0x80–0x9F (ISO-8859-1 has C1 control characters there, which nobody means).
    const bytes = Buffer.from([
      ...Buffer.from('phone,firstName,note\n+15551230001,'),
      ...[
        0x8a,
        ...Buffer.from('imon,'),
        0x93,
        ...Buffer.from('C'),
        0x9c,
        ...Buffer.from('ur'),
        0x94,
      ],
      ...[...Buffer.from(' '), 0x80, ...Buffer.from('5\n')],
    ]);
    const expected = { firstName: 'Šimon', custom: { note: '“Cœur” €5' } };
    for (const label of ['windows-1252', 'ISO-8859-1', 'latin1']) {
      const sent = await app.t.app.inject({
        method: 'POST',
        url: `${url}/contacts`,
        headers: { ...app.alice.headers, 'content-type': `text/csv; charset=${label}` },
        payload: bytes,
      });
      expect(sent.statusCode, sent.body).toBe(201);
      expect((await contactsOf(url)).at(-1), label).toMatchObject(expected);
    }
  });

  it('reads a file by its byte-order mark: UTF-16 (Excel "Unicode Text") with no charset, UTF-8 whatever the charset says', async () => {
    const url = await newList();
    const send = (bytes: Buffer, contentType: string) =>
      app.t.app.inject({
        method: 'POST',
        url: `${url}/contacts`,
        headers: { ...app.alice.headers, 'content-type': contentType },
        payload: bytes,
      });
    // Excel's "Unicode Text": UTF-16LE with its mark, tab-separated, CRLF. The console sends a
    // file as text/csv with no charset.
    const text = 'Phone\tFirst Name\r\n+15551230001\tZoë\r\n+15551230002\tŠimon\r\n';
    const little = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const big = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);
    for (const [bytes, contentType] of [
      [little, 'text/csv'],
      [big, 'text/csv'],
      // A label that disagrees with the mark: the mark is the file's own word (the Encoding
      // Standard's decode reads it first, as browsers do).
      [big, 'text/csv; charset=utf-16'],
      [Buffer.from(`\uFEFF${text}`), 'text/csv; charset=windows-1252'],
    ] as const) {
      const sent = await send(bytes, contentType);
      expect(sent.statusCode, `${contentType}: ${sent.body}`).toBe(201);
      expect((await contactsOf(url)).slice(-2), contentType).toMatchObject([
        { phone: '+15551230001', firstName: 'Zoë' },
        { phone: '+15551230002', firstName: 'Šimon' },
      ]);
    }
    // Without a mark, the charset (or UTF-8) still decides.
    const unmarked = await send(Buffer.from(text, 'utf16le'), 'text/csv');
    expect(unmarked.statusCode).toBe(400);
  });

  it('refuses a CSV body over 1 MiB with 413', async () => {
    const url = await newList();
    const text = `phone\n${'+15551230001\n'.repeat(90_000)}`;
    const tooBig = await csv(`${url}/contacts`, text);
    expect(tooBig.statusCode).toBe(413);
    expect((await call('GET', url)).json()).toMatchObject({ size: 0 });
  });

  it('takes at most 20,000 contacts in one import, CSV as JSON, naming the first row past them', async () => {
    const url = await newList();
    // Short rows: 20,001 of them fit well within 1 MiB.
    const over = await csv(`${url}/contacts`, `phone\n${'12345\n'.repeat(20_001)}`);
    expect(over.statusCode, over.body).toBe(400);
    expect(over.json<ErrorAnswer>().error.details).toEqual([
      {
        field: 'row 20001, row',
        row: 20_001,
        line: 20_002,
        message:
          'is past the 20000 contacts one import takes (the file has 20001): import the rest in another request',
      },
    ]);
    const json = await call('POST', `${url}/contacts`, {
      contacts: Array.from({ length: 20_001 }, () => ({ phone: '12345' })),
    });
    expect(json.statusCode).toBe(400);
    expect((await call('GET', url)).json()).toMatchObject({ size: 0 });
    const full = await csv(`${url}/contacts`, `phone\n${'12345\n'.repeat(20_000)}`);
    expect(full.statusCode, full.body).toBe(201);
    expect((await call('GET', url)).json()).toMatchObject({ size: 20_000 });
  });

  it('drops the spaces around standard values (a phone renders without them), not in custom ones', async () => {
    const url = await newList();
    const imported = await csv(
      `${url}/contacts`,
      'id, phone, first name, email, plan\n k-1 , +15551230001 , Ana , ana@example.com , gold \n',
    );
    expect(imported.statusCode, imported.body).toBe(201);
    const json = await call('POST', `${url}/contacts`, {
      contacts: [{ id: 'k-2', phone: '\t+15551230002 ', lastName: ' Bo', email: ' ' }],
    });
    expect(json.statusCode, json.body).toBe(201);
    expect(await contactsOf(url)).toEqual([
      {
        id: 'k-1',
        phone: '+15551230001',
        firstName: 'Ana',
        email: 'ana@example.com',
        custom: { plan: ' gold ' },
      },
      { id: 'k-2', phone: '+15551230002', lastName: 'Bo', custom: {} },
    ]);
  });
});
