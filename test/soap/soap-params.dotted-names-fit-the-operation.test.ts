/**
 * The pure rules of SOAP configs (src/domain/soap.ts, soap-params.ts): choosing the operation, checking dotted
 * parameter names against its input, building the nested arguments in schema order, and which
 * faults are retried.
 */
import { describe, expect, it } from 'vitest';
import { buildArgs, checkParams } from '../../src/domain/soap-params.js';
import {
  faultRetryable,
  selectOperation,
  type SoapOperationSpec,
  type SoapParamSpec,
  type WsdlDescription,
} from '../../src/domain/soap.js';

const leaf = (path: string, required = false, repeated = false): SoapParamSpec => ({
  name: path.replaceAll('[]', '').split('.').at(-1) ?? path,
  path,
  type: 'string',
  required,
  repeated,
});

const createTicket: SoapOperationSpec = {
  name: 'CreateTicket',
  soapAction: 'urn:CreateTicket',
  style: 'document',
  use: 'literal',
  parameterStyle: 'wrapped',
  inputElement: 'CreateTicket',
  hasOutput: true,
  params: [
    leaf('phone'),
    leaf('priority', true),
    {
      ...leaf('customer'),
      type: 'Customer',
      children: [
        leaf('customer.name', true),
        { ...leaf('customer.address'), type: 'Address', children: [leaf('customer.address.city')] },
      ],
    },
    {
      ...leaf('lines[]', false, true),
      type: 'Line',
      children: [leaf('lines[].sku', true), leaf('lines[].qty')],
    },
  ],
};

const description = (
  ports: { service: string; port: string; version: '1.1' | '1.2' }[],
): WsdlDescription => ({
  wsdlUrl: 'http://erp.example/ws?wsdl',
  targetNamespace: 'urn:x',
  documents: [],
  fetchedAt: '',
  expiresAt: '',
  services: [...new Set(ports.map((p) => p.service))].map((service) => ({
    name: service,
    ports: ports
      .filter((p) => p.service === service)
      .map((p) => ({
        name: p.port,
        binding: p.port,
        address: 'http://erp.example/ws',
        soapVersion: p.version,
        style: 'document' as const,
        operations: [createTicket],
      })),
  })),
});

describe('selectOperation', () => {
  it('prefers the SOAP 1.1 port of a .NET pair unless a port is named', () => {
    const wsdl = description([
      { service: 'Tickets', port: 'TicketsSoap12', version: '1.2' },
      { service: 'Tickets', port: 'TicketsSoap', version: '1.1' },
    ]);
    const picked = selectOperation(wsdl, { operation: 'CreateTicket' });
    expect(picked.ok && picked.selected.port.name).toBe('TicketsSoap');
    const named = selectOperation(wsdl, { operation: 'CreateTicket', port: 'TicketsSoap12' });
    expect(named.ok && named.selected.port.name).toBe('TicketsSoap12');
  });

  it('asks for a service when two offer the operation, and lists what exists when names are wrong', () => {
    const wsdl = description([
      { service: 'A', port: 'PA', version: '1.1' },
      { service: 'B', port: 'PB', version: '1.1' },
    ]);
    expect(selectOperation(wsdl, { operation: 'CreateTicket' })).toEqual({
      ok: false,
      problem: {
        field: 'config.service',
        message: 'operation "CreateTicket" exists in several services ("A", "B"): choose one',
      },
    });
    expect(selectOperation(wsdl, { operation: 'Close' })).toEqual({
      ok: false,
      problem: {
        field: 'config.operation',
        message: 'the WSDL offers no operation "Close" (operations: "CreateTicket")',
      },
    });
    expect(selectOperation(wsdl, { operation: 'CreateTicket', port: 'PX' })).toMatchObject({
      ok: false,
      problem: { field: 'config.port', message: 'no port "PX" in the WSDL (ports: "PA", "PB")' },
    });
    expect(selectOperation(wsdl, { operation: 'CreateTicket', service: 'C' })).toMatchObject({
      ok: false,
      problem: { field: 'config.service' },
    });
  });
});

describe('checkParams', () => {
  it('accepts dotted names down to text elements and list items by index', () => {
    const check = checkParams(createTicket, [
      { name: 'priority' },
      { name: 'customer.name' },
      { name: 'customer.address.city' },
      { name: 'lines.0.sku' },
      { name: 'lines.1.sku' },
    ]);
    expect(check).toEqual({ problems: [], warnings: [] });
  });

  it('names each parameter that does not fit, and why', () => {
    const { problems } = checkParams(createTicket, [
      { name: 'customer.fax' },
      { name: 'customer.address' },
      { name: 'phone.0' },
      { name: 'priority.x' },
      { name: 'a..b' },
      { name: 'priority' },
      { name: 'priority' },
    ]);
    expect(problems).toEqual([
      {
        field: 'config.params.0.name',
        message: '"customer.fax": "customer" has no element "fax" (it has "name", "address")',
      },
      {
        field: 'config.params.1.name',
        message:
          '"customer.address" is a complex element: name one of its elements instead, e.g. "customer.address.city" (it has "city")',
      },
      {
        field: 'config.params.2.name',
        message: '"phone.0": "0" is a list index, but "phone" is not a list',
      },
      {
        field: 'config.params.3.name',
        message: '"priority.x": "priority" is a string value and has no element "x"',
      },
      {
        field: 'config.params.4.name',
        message:
          '"a..b" is not a parameter name: use element names separated by dots, e.g. customer.phone',
      },
      { field: 'config.params.6.name', message: '"priority" is already set by parameter 5' },
    ]);
  });

  it('warns (without refusing) about required inputs left empty, inside filled parents only', () => {
    expect(checkParams(createTicket, [{ name: 'phone' }]).warnings).toEqual([
      { field: 'config.params', message: 'required input "priority" (string) has no parameter' },
    ]);
    expect(
      checkParams(createTicket, [{ name: 'priority' }, { name: 'customer.address.city' }]).warnings,
    ).toEqual([
      {
        field: 'config.params',
        message: 'required input "customer.name" (string) has no parameter',
      },
    ]);
  });
});

describe('buildArgs', () => {
  it('nests dotted names, makes lists of numeric segments, and keeps values as plain text', () => {
    expect(
      buildArgs([
        { name: 'customer.address.city', value: 'Köln' },
        { name: 'note', value: 'a < b & c ]]>' },
        { name: 'lines.1.sku', value: 'B' },
        { name: 'lines.0.sku', value: 'A' },
      ]),
    ).toEqual({
      customer: { address: { city: 'Köln' } },
      note: 'a < b & c ]]>',
      lines: [{ sku: 'A' }, { sku: 'B' }],
    });
  });

  it('orders elements as the schema does, whatever order the parameters come in', () => {
    const args = buildArgs(
      [
        { name: 'lines.0.qty', value: '2' },
        { name: 'lines.0.sku', value: 'A' },
        { name: 'customer.address.city', value: 'Oslo' },
        { name: 'customer.name', value: 'Ana' },
        { name: 'priority', value: '1' },
        { name: 'phone', value: '+1' },
      ],
      createTicket,
    );
    expect(JSON.stringify(args)).toBe(
      '{"phone":"+1","priority":"1","customer":{"name":"Ana","address":{"city":"Oslo"}},"lines":[{"sku":"A","qty":"2"}]}',
    );
  });
});

describe('faultRetryable', () => {
  it.each([
    ['soap:Server', true],
    ['SOAP-ENV:Server.Database', true],
    ['env:Receiver', true],
    ['Receiver', true],
    ['soap:Client', false],
    ['env:Sender', false],
    ['soap:VersionMismatch', false],
    ['env:MustUnderstand', false],
    ['tns:QuotaExceeded', false],
  ])('%s → %s', (code, retryable) => {
    expect(faultRetryable(code)).toBe(retryable);
  });
});
