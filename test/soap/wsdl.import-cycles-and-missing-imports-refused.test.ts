/**
 * A WSDL whose imports lead back to a WSDL document (itself, or one that imports it) is refused
 * with the import cycle named, where the user asks for its operations (`POST /soap/describe`)
 * and where the integration is saved: the soap package loaded such a WSDL twice and, depending
 * on the order of the imports, described its port with `operations: []` and no error. A cycle
 * of XML Schemas importing each other (legal, and resolved correctly) is still described. An
 * import that answers 404 is refused naming its URL. WSDLs served by a real local HTTP server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { createTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { startFileServer, type FileServer } from './soap-servers.js';

const HEAD = `<?xml version="1.0"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
  xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:t="urn:cycle" targetNamespace="urn:cycle">`;
/** Types, message and portType: what a binding needs from the documents it imports. */
const ABSTRACT = `
  <types><xs:schema targetNamespace="urn:cycle" elementFormDefault="qualified">
    <xs:element name="Ping"><xs:complexType><xs:sequence>
      <xs:element name="account" type="xs:string"/>
    </xs:sequence></xs:complexType></xs:element>
  </xs:schema></types>
  <message name="PingIn"><part name="p" element="t:Ping"/></message>
  <portType name="PingPort"><operation name="Ping"><input message="t:PingIn"/></operation></portType>`;
const concrete = (base: string) => `
  <binding name="PingBinding" type="t:PingPort">
    <soap:binding transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="Ping"><soap:operation soapAction=""/><input><soap:body use="literal"/></input></operation>
  </binding>
  <service name="PingService"><port name="PingSoap" binding="t:PingBinding">
    <soap:address location="${base}/ping"/></port></service>`;
const wsdlImport = (ns: string, location: string) =>
  `<import namespace="${ns}" location="${location}"/>`;
const schema = (ns: string, body: string) =>
  `<?xml version="1.0"?><xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:s1="urn:s1" xmlns:s2="urn:s2" targetNamespace="${ns}" elementFormDefault="qualified">${body}</xs:schema>`;

describe.each(DIALECTS)('WSDL import cycles and missing imports on %s', (backend) => {
  let t: TestApp;
  let alice: TestUser;
  let files: FileServer;

  beforeAll(async () => {
    files = await startFileServer();
    const b = files.base;
    const serve = (path: string, body: string) => files.override.set(path, { status: 200, body });
    // Imports itself.
    serve(
      '/self.wsdl',
      `${HEAD}${wsdlImport('urn:self', 'self.wsdl')}${ABSTRACT}${concrete(b)}</definitions>`,
    );
    // main (binding, service) → middle → main again, then middle → abstract (the portType):
    // described with `operations: []` before.
    serve(
      '/main.wsdl',
      `${HEAD}${wsdlImport('urn:middle', 'middle.wsdl')}${concrete(b)}</definitions>`,
    );
    serve(
      '/middle.wsdl',
      `${HEAD}${wsdlImport('urn:main', 'main.wsdl')}${wsdlImport('urn:abstract', 'abstract.wsdl')}</definitions>`,
    );
    serve('/abstract.wsdl', `${HEAD}${ABSTRACT}</definitions>`);
    // Imports a document the server does not have.
    serve(
      '/gone-import.wsdl',
      `${HEAD}${wsdlImport('urn:gone', 'gone.wsdl')}${ABSTRACT}${concrete(b)}</definitions>`,
    );
    // Two schemas importing each other: legal XML Schema, and described correctly.
    serve(
      '/schemas.wsdl',
      `${HEAD.replace('xmlns:t=', 'xmlns:s1="urn:s1" xmlns:t=')}
  <types><xs:schema targetNamespace="urn:cycle"><xs:import namespace="urn:s1" schemaLocation="s1.xsd"/></xs:schema></types>
  <message name="PingIn"><part name="p" element="s1:Ping"/></message>
  <portType name="PingPort"><operation name="Ping"><input message="t:PingIn"/></operation></portType>
  ${concrete(b)}</definitions>`,
    );
    serve(
      '/s1.xsd',
      schema(
        'urn:s1',
        `<xs:import namespace="urn:s2" schemaLocation="s2.xsd"/>
        <xs:element name="Ping"><xs:complexType><xs:sequence>
          <xs:element name="where" type="s2:Address"/></xs:sequence></xs:complexType></xs:element>
        <xs:complexType name="Person"><xs:sequence><xs:element name="name" type="xs:string"/></xs:sequence></xs:complexType>`,
      ),
    );
    serve(
      '/s2.xsd',
      schema(
        'urn:s2',
        `<xs:import namespace="urn:s1" schemaLocation="s1.xsd"/>
        <xs:complexType name="Address"><xs:sequence>
          <xs:element name="city" type="xs:string"/><xs:element name="owner" type="s1:Person"/>
        </xs:sequence></xs:complexType>`,
      ),
    );
    t = await createTestApp(backend, { env: { CALLHOOK_ALLOW_NETWORKS: '127.0.0.0/8' } });
    alice = await t.user({ grants: ['integration'] });
  });

  afterAll(async () => {
    await t?.close();
    await files?.close();
  });

  const describeWsdl = (path: string) =>
    t.app.inject({
      method: 'POST',
      url: '/api/v1/soap/describe',
      headers: alice.headers,
      payload: { wsdlUrl: `${files.base}/${path}` },
    });
  const save = (path: string) =>
    t.app.inject({
      method: 'POST',
      url: '/api/v1/integrations',
      headers: alice.headers,
      payload: {
        name: `Ping ${path}`,
        type: 'soap',
        config: {
          wsdlUrl: `${files.base}/${path}`,
          operation: 'Ping',
          params: [{ name: 'account', value: '{{contact.id}}' }],
        },
      },
    });
  const WHY = 'the SOAP library cannot load a WSDL whose imports lead back to it';

  it('refuses a WSDL that imports itself, naming it', async () => {
    const self = `${files.base}/self.wsdl`;
    const described = await describeWsdl('self.wsdl');
    expect(described.statusCode, described.body).toBe(400);
    expect(described.json().error).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: `The WSDL cannot be used: ${self}: imports itself: ${WHY}; remove that import`,
      details: [{ field: 'body.wsdlUrl', kind: 'wsdl_invalid', documentUrl: self }],
    });
    const saved = await save('self.wsdl');
    expect(saved.statusCode, saved.body).toBe(400);
    expect(saved.json().error.details).toEqual([
      {
        field: 'config.wsdlUrl',
        message: `the WSDL cannot be used: imports itself: ${WHY}; remove that import`,
      },
    ]);
  });

  it('refuses a cycle of WSDL imports, naming the import that closes it', async () => {
    const main = `${files.base}/main.wsdl`;
    const middle = `${files.base}/middle.wsdl`;
    const problem = `imports ${main} back (an import cycle: ${main} → ${middle} → ${main}): ${WHY}; remove one of these imports`;
    const described = await describeWsdl('main.wsdl');
    expect(described.statusCode, described.body).toBe(400);
    expect(described.json().error).toMatchObject({
      message: `The WSDL cannot be used: ${middle}, imported by ${main}: ${problem}`,
      details: [{ field: 'body.wsdlUrl', documentUrl: middle, message: problem }],
    });
    const saved = await save('main.wsdl');
    expect(saved.statusCode, saved.body).toBe(400);
    expect(saved.json().error.details).toEqual([
      {
        field: 'config.wsdlUrl',
        message: `the WSDL cannot be used (in ${middle}, which it imports): ${problem}`,
      },
    ]);
  });

  it('refuses an import that answers 404, naming its URL', async () => {
    const wsdl = `${files.base}/gone-import.wsdl`;
    const gone = `${files.base}/gone.wsdl`;
    const described = await describeWsdl('gone-import.wsdl');
    expect(described.statusCode, described.body).toBe(400);
    expect(described.json().error).toMatchObject({
      message: `The WSDL cannot be used: ${gone}, imported by ${wsdl}: answered HTTP 404: no such document`,
      details: [{ field: 'body.wsdlUrl', documentUrl: gone, retryable: false }],
    });
    const saved = await save('gone-import.wsdl');
    expect(saved.statusCode, saved.body).toBe(400);
    expect(saved.json().error.details).toEqual([
      {
        field: 'config.wsdlUrl',
        message: `the WSDL cannot be used (in ${gone}, which it imports): answered HTTP 404: no such document`,
      },
    ]);
  });

  it('still describes schemas that import each other', async () => {
    const described = await describeWsdl('schemas.wsdl');
    expect(described.statusCode, described.body).toBe(200);
    const port = described.json().services[0].ports[0];
    expect(port.operations.map((op: { name: string }) => op.name)).toEqual(['Ping']);
    const where = port.operations[0].params[0];
    expect(where).toMatchObject({ path: 'where', type: 'Address' });
    expect(where.children.map((p: { path: string }) => p.path)).toEqual([
      'where.city',
      'where.owner',
    ]);
    const saved = await save('schemas.wsdl');
    expect(saved.statusCode, saved.body).toBe(400);
    // The operation's input is `where`, not `account`: the save check read the schemas.
    expect(saved.json().error.details[0]).toMatchObject({ field: 'config.params.0.name' });
  });
});
