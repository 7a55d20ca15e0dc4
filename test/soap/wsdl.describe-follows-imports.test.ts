/**
 * describe(): services, ports, SOAP version and style per binding, operations with SOAPAction,
 * and input parameters with types, nesting and required/optional, across WSDL styles, with
 * wsdl:import, xsd:import and xsd:include followed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SoapOperationSpec, WsdlDescription } from '../../src/domain/soap.js';
import { SoapClient } from '../../src/transport/soap-client.js';
import { LOOPBACK_POLICY, startFileServer, type FileServer } from './soap-servers.js';

describe('describing WSDLs', () => {
  let files: FileServer;
  let client: SoapClient;

  beforeAll(async () => {
    files = await startFileServer();
    client = new SoapClient({ policy: LOOPBACK_POLICY });
  });

  afterAll(async () => {
    client?.close();
    await files?.close();
  });

  async function describeFixture(name: string): Promise<WsdlDescription> {
    const result = await client.describe(`${files.base}/${name}`);
    if (!result.ok) throw new Error(result.failure.message);
    return result.description;
  }

  function operation(description: WsdlDescription, port: string, name: string): SoapOperationSpec {
    const found = description.services
      .flatMap((service) => service.ports)
      .find((p) => p.name === port)
      ?.operations.find((op) => op.name === name);
    if (found === undefined) throw new Error(`no ${port}.${name}`);
    return found;
  }

  it('lists both SOAP ports of a .NET service with their versions, and leaves out its HTTP GET port', async () => {
    const description = await describeFixture('dotnet-tickets.wsdl');
    expect(description.targetNamespace).toBe('http://callhook.test/tickets/');
    expect(description.services).toHaveLength(1);
    const ports = description.services[0]?.ports.map((port) => ({
      name: port.name,
      soapVersion: port.soapVersion,
      style: port.style,
      address: port.address,
      operations: port.operations.map((op) => op.name),
    }));
    expect(ports).toEqual([
      {
        name: 'TicketsSoap',
        soapVersion: '1.1',
        style: 'document',
        address: `${files.base}/dotnet`,
        operations: ['CreateTicket', 'GetBalance', 'Fail', 'Slow'],
      },
      {
        name: 'TicketsSoap12',
        soapVersion: '1.2',
        style: 'document',
        address: `${files.base}/dotnet`,
        operations: ['CreateTicket', 'GetBalance', 'Fail', 'Slow'],
      },
    ]);
  });

  it('gives a wrapped operation its parameters: types, nesting, required/optional, lists', async () => {
    const op = operation(
      await describeFixture('dotnet-tickets.wsdl'),
      'TicketsSoap',
      'CreateTicket',
    );
    expect(op).toMatchObject({
      soapAction: 'http://callhook.test/tickets/CreateTicket',
      style: 'document',
      use: 'literal',
      parameterStyle: 'wrapped',
      inputElement: 'CreateTicket',
      hasOutput: true,
    });
    expect(op.params).toEqual([
      { name: 'phone', path: 'phone', type: 'string', required: false, repeated: false },
      { name: 'note', path: 'note', type: 'string', required: false, repeated: false },
      { name: 'priority', path: 'priority', type: 'int', required: true, repeated: false },
      {
        name: 'customer',
        path: 'customer',
        type: 'Customer',
        required: false,
        repeated: false,
        children: [
          { name: 'name', path: 'customer.name', type: 'string', required: false, repeated: false },
          {
            name: 'phone',
            path: 'customer.phone',
            type: 'string',
            required: false,
            repeated: false,
          },
          {
            name: 'address',
            path: 'customer.address',
            type: 'Address',
            required: false,
            repeated: false,
            children: [
              {
                name: 'street',
                path: 'customer.address.street',
                type: 'string',
                required: false,
                repeated: false,
              },
              {
                name: 'city',
                path: 'customer.address.city',
                type: 'string',
                required: false,
                repeated: false,
              },
            ],
          },
        ],
      },
      {
        name: 'tags',
        path: 'tags',
        type: 'ArrayOfString',
        required: false,
        repeated: false,
        children: [
          {
            name: 'string',
            path: 'tags.string[]',
            type: 'string',
            required: false,
            repeated: true,
          },
        ],
      },
    ]);
  });

  it('follows wsdl:import, xsd:import and xsd:include of a WCF-style SOAP 1.2 service', async () => {
    const description = await describeFixture('wcf-main.wsdl');
    expect(description.documents).toEqual([
      `${files.base}/wcf-main.wsdl`,
      `${files.base}/wcf-abstract.wsdl`,
      `${files.base}/wcf-types.xsd`,
      `${files.base}/wcf-common.xsd`,
    ]);
    const port = description.services[0]?.ports[0];
    expect(port).toMatchObject({ name: 'WSHttpBinding_ICustomerService', soapVersion: '1.2' });
    const op = operation(description, 'WSHttpBinding_ICustomerService', 'LookupCustomer');
    expect(op.soapAction).toBe('http://tempuri.org/ICustomerService/LookupCustomer');
    expect(op.params).toEqual([
      { name: 'phone', path: 'phone', type: 'string', required: false, repeated: false },
      {
        name: 'filter',
        path: 'filter',
        type: 'LookupFilter',
        required: false,
        repeated: false,
        children: [
          {
            name: 'since',
            path: 'filter.since',
            type: 'dateTime',
            required: false,
            repeated: false,
          },
          {
            name: 'status',
            path: 'filter.status',
            type: 'CustomerStatus',
            enum: ['Active', 'Closed'],
            required: true,
            repeated: false,
          },
        ],
      },
    ]);
  });

  it('describes rpc operations by their message parts', async () => {
    const description = await describeFixture('rpc-billing.wsdl');
    const op = operation(description, 'BillingPort', 'ChargeAccount');
    expect(description.services[0]?.ports[0]).toMatchObject({ soapVersion: '1.1', style: 'rpc' });
    expect(op).toMatchObject({
      style: 'rpc',
      use: 'encoded',
      parameterStyle: 'rpc',
      soapAction: 'urn:callhook:billing#ChargeAccount',
    });
    expect(op.params.map((p) => [p.path, p.type, p.required])).toEqual([
      ['account', 'string', true],
      ['amount', 'decimal', true],
      ['memo', 'string', true],
      ['payer', 'Payer', true],
    ]);
    expect(op.params[3]?.children?.map((p) => p.path)).toEqual(['payer.name', 'payer.phone']);
  });

  it('describes bare operations: a complex part element, and a simple one as a single value', async () => {
    const description = await describeFixture('bare-sms.wsdl');
    expect(operation(description, 'SmsPort', 'SendSms')).toMatchObject({
      parameterStyle: 'bare',
      inputElement: 'SmsMessage',
      params: [
        { path: 'to', required: true },
        { path: 'text', required: true },
      ],
    });
    expect(operation(description, 'SmsPort', 'Ping')).toMatchObject({
      parameterStyle: 'bare',
      inputElement: 'PingText',
      simpleInput: true,
      params: [{ name: 'PingText', path: 'PingText', type: 'string', required: true }],
    });
  });
  it('checks a SOAP integration config at save time: WSDL, operation, parameter names', async () => {
    const wsdlUrl = `${files.base}/dotnet-tickets.wsdl`;
    expect(
      await client.checkConfig({
        wsdlUrl,
        operation: 'CreateTicket',
        port: 'TicketsSoap12',
        params: [{ name: 'customer.address.city' }, { name: 'tags.string.0' }],
      }),
    ).toEqual([]);
    expect(await client.checkConfig({ wsdlUrl, operation: 'Close', params: [] })).toEqual([
      {
        field: 'config.operation',
        message:
          'the WSDL offers no operation "Close" (operations: "CreateTicket", "GetBalance", "Fail", "Slow")',
      },
    ]);
    expect(
      await client.checkConfig({ wsdlUrl, operation: 'GetBalance', params: [{ name: 'account' }] }),
    ).toEqual([
      {
        field: 'config.params.0.name',
        message:
          '"account": the input of "GetBalance" has no element "account" (it has "accountId")',
      },
    ]);
    expect(
      await client.checkConfig({
        wsdlUrl: `${files.base}/missing.wsdl`,
        operation: 'X',
        params: [],
      }),
    ).toEqual([
      {
        field: 'config.wsdlUrl',
        message: 'the WSDL cannot be used: answered HTTP 404: no such document',
      },
    ]);
  });
  it('reads extensions, choices, group and element refs, and cuts recursive types', async () => {
    files.override.set('/schema-features.wsdl', {
      status: 200,
      body: `<?xml version="1.0"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
  xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:t="urn:f" targetNamespace="urn:f">
  <types><xs:schema targetNamespace="urn:f" elementFormDefault="qualified">
    <xs:complexType name="Party"><xs:sequence><xs:element name="id" type="xs:string"/></xs:sequence></xs:complexType>
    <xs:complexType name="Person"><xs:complexContent><xs:extension base="t:Party"><xs:sequence>
      <xs:element name="email" type="xs:string" minOccurs="0"/></xs:sequence></xs:extension></xs:complexContent></xs:complexType>
    <xs:group name="Contact"><xs:sequence><xs:element name="phone" type="xs:string"/></xs:sequence></xs:group>
    <xs:complexType name="Node"><xs:sequence><xs:element name="label" type="xs:string"/>
      <xs:element name="child" type="t:Node" minOccurs="0" maxOccurs="unbounded"/></xs:sequence></xs:complexType>
    <xs:element name="Channel" type="xs:string"/>
    <xs:element name="Notify"><xs:complexType><xs:sequence>
      <xs:element name="who" type="t:Person"/>
      <xs:choice><xs:element name="sms" type="xs:string"/><xs:element name="mail" type="xs:string"/></xs:choice>
      <xs:group ref="t:Contact"/>
      <xs:element ref="t:Channel"/>
      <xs:element name="tree" type="t:Node" minOccurs="0"/>
    </xs:sequence></xs:complexType></xs:element>
  </xs:schema></types>
  <message name="In"><part name="p" element="t:Notify"/></message>
  <portType name="PT"><operation name="Notify"><input message="t:In"/></operation></portType>
  <binding name="B" type="t:PT"><soap:binding transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="Notify"><soap:operation soapAction=""/><input><soap:body use="literal"/></input></operation></binding>
  <service name="S"><port name="P" binding="t:B"><soap:address location="${files.base}/x"/></port></service>
</definitions>`,
    });
    try {
      const op = operation(await describeFixture('schema-features.wsdl'), 'P', 'Notify');
      expect(op).toMatchObject({ hasOutput: false, soapAction: '', parameterStyle: 'wrapped' });
      const summary = (specs: typeof op.params): unknown =>
        specs.map((p) => [
          p.path,
          p.type,
          p.required,
          ...(p.children ? [summary(p.children)] : []),
        ]);
      expect(summary(op.params)).toEqual([
        [
          'who',
          'Person',
          true,
          [
            ['who.id', 'string', true],
            ['who.email', 'string', false],
          ],
        ],
        ['sms', 'string', false],
        ['mail', 'string', false],
        ['phone', 'string', true],
        ['Channel', 'string', true],
        [
          'tree',
          'Node',
          false,
          [
            ['tree.label', 'string', true],
            ['tree.child[]', 'Node', false, []],
          ],
        ],
      ]);
      expect(op.params[5]?.children?.[1]).toMatchObject({ recursive: true, repeated: true });
    } finally {
      files.override.clear();
    }
  });

  it('holds a preview (the test endpoint without send) to its deadline while the WSDL is still loading', async () => {
    // It waited for the cache's 15 s load limit instead: the test endpoint hung on a slow WSDL.
    files.override.set('/slow-preview.wsdl', { status: 200, body: '<x/>', delayMs: 3_000 });
    try {
      const started = performance.now();
      const preview = await client.preview({
        wsdlUrl: `${files.base}/slow-preview.wsdl`,
        operation: 'X',
        params: [],
        timeoutMs: 200,
      });
      expect(performance.now() - started).toBeLessThan(1_500);
      expect(preview).toMatchObject({
        ok: false,
        outcome: {
          kind: 'timeout',
          retryable: true,
          message: `the WSDL ${files.base}/slow-preview.wsdl was not loaded within the 200 ms timeout`,
        },
      });
    } finally {
      files.override.clear();
    }
  });

  it('holds a call to its deadline while the WSDL is still loading', async () => {
    files.override.set('/slow-wsdl.wsdl', { status: 200, body: '<x/>', delayMs: 3_000 });
    try {
      const started = performance.now();
      const outcome = await client.call({
        wsdlUrl: `${files.base}/slow-wsdl.wsdl`,
        operation: 'X',
        params: [],
        timeoutMs: 200,
      });
      expect(performance.now() - started).toBeLessThan(1_500);
      expect(outcome).toMatchObject({
        kind: 'timeout',
        retryable: true,
        message: `the WSDL ${files.base}/slow-wsdl.wsdl was not loaded within the 200 ms timeout`,
      });
    } finally {
      files.override.clear();
    }
  });
});
