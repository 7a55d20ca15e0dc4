/**
 * SOAP integrations (SPEC §2.2), the pure part: what a WSDL offers (as `describe` reports it),
 * how a config's `operation`/`service`/`port` pick one operation, and which SOAP faults are
 * worth retrying; how parameter names fit the operation is in soap-params.ts. No I/O: the WSDL
 * is fetched and parsed by src/transport/.
 */

export type SoapVersion = '1.1' | '1.2';
export type SoapStyle = 'document' | 'rpc';
export type SoapUse = 'literal' | 'encoded';

/** One element (or rpc part) of an operation's input, with its children when it is complex. */
export interface SoapParamSpec {
  /** Local element name, e.g. `city`. */
  name: string;
  /** Dotted path from the operation's input, e.g. `customer.address.city`; `[]` marks a list. */
  path: string;
  /** XSD type, e.g. `string`, `int`, `dateTime`, or the complex type's name. */
  type: string;
  /** `minOccurs` ≥ 1 (and, for an rpc part, always). */
  required: boolean;
  /** `maxOccurs` > 1: address items with a numeric segment, `lines.0.sku`. */
  repeated: boolean;
  /** Allowed values when the type is an enumeration. */
  enum?: string[];
  /** Present for complex types (possibly empty). Absent for text values. */
  children?: SoapParamSpec[];
  /** The type refers to itself; nesting was cut here. */
  recursive?: boolean;
}

export interface SoapOperationSpec {
  name: string;
  /** The SOAPAction (1.1 header) or `action` parameter (1.2 Content-Type); may be empty. */
  soapAction: string;
  style: SoapStyle;
  use: SoapUse;
  /**
   * How the input is laid out: `wrapped` (document/literal with a wrapper element named after
   * the operation, the .NET and JAX-WS default), `bare` (document/literal whose part is some
   * other element, or a simple one), or `rpc` (one accessor per message part).
   */
  parameterStyle: 'wrapped' | 'bare' | 'rpc';
  /** The document-style input element, e.g. `CreateTicket`; absent for rpc. */
  inputElement?: string;
  params: SoapParamSpec[];
  /**
   * A bare input whose element has a simple type takes its whole value from one parameter,
   * named after the element.
   */
  simpleInput?: boolean;
  /** false for one-way operations. */
  hasOutput: boolean;
}

export interface SoapPortSpec {
  name: string;
  binding: string;
  /** The endpoint address the WSDL gives. */
  address: string;
  soapVersion: SoapVersion;
  /** The binding's default style; operations may override it. */
  style: SoapStyle;
  operations: SoapOperationSpec[];
}

export interface SoapServiceSpec {
  name: string;
  ports: SoapPortSpec[];
}

/** What `POST /api/v1/soap/describe` answers. */
export interface WsdlDescription {
  wsdlUrl: string;
  targetNamespace: string;
  services: SoapServiceSpec[];
  /** Every document read: the WSDL first, then imports and includes in the order followed. */
  documents: string[];
  /** When the WSDL was fetched (ISO 8601); the cache serves it until `expiresAt`. */
  fetchedAt: string;
  expiresAt: string;
}

export interface SoapProblem {
  /** e.g. `config.operation`, `config.params.2.name`. */
  field: string;
  message: string;
}

/** The operation a config designates, with where it lives. */
export interface SelectedOperation {
  service: SoapServiceSpec;
  port: SoapPortSpec;
  operation: SoapOperationSpec;
}

/**
 * Finds the operation named by `operation`, narrowed by `service` and `port` when given. Ports
 * that offer the same operation differ by SOAP version (a .NET service publishes `…Soap` and
 * `…Soap12`): without a `port`, SOAP 1.1 is preferred, the one every server of such a pair speaks.
 * Two services both offering it is ambiguous and must be narrowed.
 *
 * ### Examples
 * ```ts
 * selectOperation(description, { operation: 'CreateTicket' });
 * // → { ok: true, selected: { service, port: TicketsSoap, operation } }
 * ```
 */
export function selectOperation(
  description: WsdlDescription,
  wanted: { operation: string; service?: string | undefined; port?: string | undefined },
): { ok: true; selected: SelectedOperation } | { ok: false; problem: SoapProblem } {
  const services = description.services.filter(
    (service) => wanted.service === undefined || service.name === wanted.service,
  );
  if (services.length === 0) {
    return fail(
      'config.service',
      `the WSDL has no service "${String(wanted.service)}" (it has ${quotedList(description.services.map((s) => s.name))})`,
    );
  }
  const candidates: SelectedOperation[] = [];
  for (const service of services) {
    const ports = service.ports.filter(
      (port) => wanted.port === undefined || port.name === wanted.port,
    );
    for (const port of ports) {
      const operation = port.operations.find((op) => op.name === wanted.operation);
      if (operation !== undefined) candidates.push({ service, port, operation });
    }
  }
  if (
    wanted.port !== undefined &&
    !services.some((s) => s.ports.some((p) => p.name === wanted.port))
  ) {
    const ports = services.flatMap((s) => s.ports.map((p) => p.name));
    return fail(
      'config.port',
      `no port "${wanted.port}" in the WSDL (ports: ${quotedList(ports)})`,
    );
  }
  if (candidates.length === 0) {
    const offered = [
      ...new Set(services.flatMap((s) => s.ports.flatMap((p) => p.operations.map((o) => o.name)))),
    ];
    return fail(
      'config.operation',
      `the WSDL offers no operation "${wanted.operation}"` +
        (wanted.service === undefined && wanted.port === undefined ? '' : ' on that service/port') +
        ` (operations: ${quotedList(offered)})`,
    );
  }
  const byService = new Set(candidates.map((c) => c.service.name));
  if (byService.size > 1) {
    return fail(
      'config.service',
      `operation "${wanted.operation}" exists in several services (${quotedList([...byService])}): choose one`,
    );
  }
  const preferred = candidates.find((c) => c.port.soapVersion === '1.1') ?? candidates[0];
  return { ok: true, selected: preferred as SelectedOperation };
}

/**
 * Why the address a call would go to cannot be used, or undefined when it is an absolute http(s)
 * URL. The WSDL's `soap:address` is taken as written; a `file:`, `ftp:` or relative location
 * (or none) fails every call the same way, so it is reported as a problem of the WSDL, not
 * retried.
 *
 * ### Examples
 * ```ts
 * endpointProblem({ name: 'TicketsSoap', address: 'ftp://erp.example/ws' });
 * // → { field: 'config.wsdlUrl', message: 'port "TicketsSoap" has the address "ftp://erp.example/ws" (its soap:address location), which is not an http: or https: URL' }
 * ```
 */
export function endpointProblem(
  port: Pick<SoapPortSpec, 'name' | 'address'>,
  endpoint?: string,
): SoapProblem | undefined {
  const address = endpoint ?? port.address;
  let protocol: string | undefined;
  try {
    protocol = new URL(address).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol === 'http:' || protocol === 'https:') return undefined;
  if (address.trim() === '') {
    return {
      field: 'config.wsdlUrl',
      message: `port "${port.name}" has no address (its soap:address location is empty)`,
    };
  }
  const what =
    endpoint === undefined
      ? `port "${port.name}" has the address "${address}" (its soap:address location)`
      : `the endpoint "${address}"`;
  return {
    field: 'config.wsdlUrl',
    message:
      protocol === undefined
        ? `${what}, which is not an absolute URL`
        : `${what}, which is not an http: or https: URL`,
  };
}

function fail(field: string, message: string): { ok: false; problem: SoapProblem } {
  return { ok: false, problem: { field, message } };
}

/** `"a", "b"` for a message, or `none`. */
export function quotedList(names: readonly string[]): string {
  return names.length === 0 ? 'none' : names.map((name) => `"${name}"`).join(', ');
}

/**
 * Whether a SOAP fault is worth retrying. The fault code's class says whose problem it is:
 * `Server` (SOAP 1.1) / `Receiver` (1.2) — the server failed to process a message that may
 * succeed later — is retried; `Client` / `Sender` — the message itself is wrong — and the
 * protocol classes (`VersionMismatch`, `MustUnderstand`, `DataEncodingUnknown`) are not, nor are
 * codes outside these classes. Subcodes after a dot (`Server.Timeout`) keep their class.
 *
 * ### Examples
 * ```ts
 * faultRetryable('soap:Server.Database'); // true
 * faultRetryable('env:Sender');           // false
 * ```
 */
export function faultRetryable(code: string): boolean {
  const local =
    code
      .slice(code.lastIndexOf(':') + 1)
      .split('.')[0]
      ?.toLowerCase() ?? '';
  return local === 'server' || local === 'receiver';
}
