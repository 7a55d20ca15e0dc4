/**
 * SOAP integrations (SPEC §2.2), the pure part: what a WSDL offers (as `describe` reports it),
 * how a config's `operation`/`service`/`port` pick one operation, how dotted parameter names
 * (`customer.address.city`, `lines.0.sku`) fit the operation's input and become the nested
 * object the SOAP library serialises, and which SOAP faults are worth retrying. No I/O: the
 * WSDL is fetched and parsed by src/transport/.
 */
import type { SoapConfig } from './integration.js';

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
      `the WSDL has no service "${String(wanted.service)}" (it has ${list(description.services.map((s) => s.name))})`,
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
    return fail('config.port', `no port "${wanted.port}" in the WSDL (ports: ${list(ports)})`);
  }
  if (candidates.length === 0) {
    const offered = [
      ...new Set(services.flatMap((s) => s.ports.flatMap((p) => p.operations.map((o) => o.name)))),
    ];
    return fail(
      'config.operation',
      `the WSDL offers no operation "${wanted.operation}"` +
        (wanted.service === undefined && wanted.port === undefined ? '' : ' on that service/port') +
        ` (operations: ${list(offered)})`,
    );
  }
  const byService = new Set(candidates.map((c) => c.service.name));
  if (byService.size > 1) {
    return fail(
      'config.service',
      `operation "${wanted.operation}" exists in several services (${list([...byService])}): choose one`,
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

function list(names: readonly string[]): string {
  return names.length === 0 ? 'none' : names.map((name) => `"${name}"`).join(', ');
}

export interface ParamCheck {
  /** Names that do not fit the operation: refused when saving, an `invalid` outcome when sending. */
  problems: SoapProblem[];
  /** Required inputs no parameter fills; servers differ in how strict they are, so only a warning. */
  warnings: SoapProblem[];
}

/**
 * Checks parameter names against the operation's input: each dotted name must lead, through
 * complex elements, to a text element (or, with a numeric segment after a repeated element, to
 * one item of a list). A name may not be both a value and a parent of other names, nor repeat.
 */
export function checkParams(
  operation: SoapOperationSpec,
  params: readonly Pick<SoapConfig['params'][number], 'name'>[],
): ParamCheck {
  const problems: SoapProblem[] = [];
  const seen = new Map<string, number>();
  const leaves: string[] = [];
  params.forEach((param, index) => {
    const field = `config.params.${index}.name`;
    const previous = seen.get(param.name);
    if (previous !== undefined) {
      problems.push({ field, message: `"${param.name}" is already set by parameter ${previous}` });
      return;
    }
    seen.set(param.name, index);
    const error = resolveName(operation, param.name);
    if (error !== undefined) problems.push({ field, message: error });
    else leaves.push(param.name);
  });
  // A value and a parent at once (`customer` and `customer.phone`) cannot both be serialised.
  for (const name of leaves) {
    const child = leaves.find((other) => other.startsWith(`${name}.`));
    if (child !== undefined) {
      problems.push({
        field: `config.params.${String(seen.get(name))}.name`,
        message: `"${name}" is given a value, but "${child}" says it has children`,
      });
    }
  }
  const warnings: SoapProblem[] = [];
  const filled = (path: string): boolean =>
    leaves.some((name) => stripIndexes(name) === path || stripIndexes(name).startsWith(`${path}.`));
  const walk = (specs: readonly SoapParamSpec[], parentFilled: boolean): void => {
    for (const spec of specs) {
      const path = spec.path.replaceAll('[]', '');
      if (spec.required && parentFilled && !filled(path)) {
        warnings.push({
          field: 'config.params',
          message: `required input "${path}" (${spec.type}) has no parameter`,
        });
      } else if (spec.children !== undefined && filled(path)) {
        walk(spec.children, true);
      }
    }
  };
  if (operation.simpleInput !== true) walk(operation.params, true);
  else if (!filled(operation.params[0]?.name ?? '')) {
    warnings.push({
      field: 'config.params',
      message: `the input "${operation.params[0]?.name ?? ''}" has no parameter`,
    });
  }
  return { problems, warnings };
}

function stripIndexes(name: string): string {
  return name
    .split('.')
    .filter((segment) => !/^\d+$/.test(segment))
    .join('.');
}

/** Why `name` does not fit the operation, or undefined when it does. */
function resolveName(operation: SoapOperationSpec, name: string): string | undefined {
  if (name === '' || name.startsWith('.') || name.endsWith('.') || name.includes('..')) {
    return `"${name}" is not a parameter name: use element names separated by dots, e.g. customer.phone`;
  }
  const segments = name.split('.');
  if (operation.simpleInput === true) {
    const only = operation.params[0];
    return only !== undefined && name === only.name
      ? undefined
      : `operation "${operation.name}" takes one value, named "${only?.name ?? ''}"`;
  }
  let level: readonly SoapParamSpec[] | undefined = operation.params;
  let current: SoapParamSpec | undefined;
  let where = `the input of "${operation.name}"`;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    if (/^\d+$/.test(segment)) {
      if (current === undefined || !current.repeated) {
        return `"${name}": "${segment}" is a list index, but ${where} is not a list`;
      }
      if (i > 0 && /^\d+$/.test(segments[i - 1] as string)) {
        return `"${name}": two list indexes in a row`;
      }
      continue;
    }
    if (level === undefined) {
      return `"${name}": ${where} is a ${current?.type ?? 'text'} value and has no element "${segment}"`;
    }
    const found: SoapParamSpec | undefined = level.find((spec) => spec.name === segment);
    if (found === undefined) {
      const names = level.map((spec) => spec.name);
      return `"${name}": ${where} has no element "${segment}" (it has ${list(names)})`;
    }
    current = found;
    level = found.children;
    where = `"${found.path.replaceAll('[]', '')}"`;
  }
  if (current?.children !== undefined && !current.recursive && current.children.length > 0) {
    const names = current.children.map((spec) => spec.name);
    return `"${name}" is a complex element: name one of its elements instead, e.g. "${name}.${names[0] ?? ''}" (it has ${list(names)})`;
  }
  return undefined;
}

/** The argument tree: nested objects, arrays for list items, strings at the leaves. */
export type SoapArgs = { [name: string]: SoapArg };
export type SoapArg = string | SoapArgs | SoapArg[];

/**
 * Turns rendered `{name, value}` pairs into the nested object the SOAP library serialises:
 * `customer.phone` → `{customer: {phone}}`, `lines.0.sku` → `{lines: [{sku}]}`. With an
 * operation, elements come out in the schema's order (order-sensitive servers such as WCF's
 * DataContract serializer reject reordered elements), whatever order the parameters are listed in.
 * Call after checkParams() found no problem.
 *
 * ### Examples
 * ```ts
 * buildArgs([{ name: 'customer.phone', value: '+1555' }, { name: 'note', value: 'a < b' }]);
 * // → { customer: { phone: '+1555' }, note: 'a < b' }
 * ```
 */
export function buildArgs(
  params: readonly { name: string; value: string }[],
  operation?: SoapOperationSpec,
): SoapArgs {
  const root: SoapArgs = {};
  for (const { name, value } of params) {
    const segments = name.split('.');
    let node: SoapArgs | SoapArg[] = root;
    segments.forEach((segment, i) => {
      const last = i === segments.length - 1;
      const nextIsIndex = !last && /^\d+$/.test(segments[i + 1] as string);
      const key: string | number = Array.isArray(node) ? Number(segment) : segment;
      const container = node as Record<string | number, SoapArg>;
      if (last) {
        container[key] = value;
        return;
      }
      const existing = container[key];
      if (existing === undefined || typeof existing === 'string') {
        container[key] = nextIsIndex ? [] : {};
      }
      node = container[key] as SoapArgs | SoapArg[];
    });
  }
  return operation === undefined ? root : ordered(root, operation.params);
}

function ordered(args: SoapArgs, specs: readonly SoapParamSpec[] | undefined): SoapArgs {
  if (specs === undefined || specs.length === 0) return args;
  const out: SoapArgs = {};
  const order = (value: SoapArg, spec: SoapParamSpec | undefined): SoapArg => {
    if (typeof value === 'string' || spec === undefined) return value;
    if (Array.isArray(value)) {
      // Sparse lists (`lines.2` without `lines.1`) close up: the server sees consecutive items.
      return value.filter((item) => item !== undefined).map((item) => order(item, spec));
    }
    return ordered(value, spec.children);
  };
  for (const spec of specs) {
    const value = args[spec.name];
    if (value !== undefined) out[spec.name] = order(value, spec);
  }
  for (const [name, value] of Object.entries(args)) {
    if (!(name in out)) out[name] = value;
  }
  return out;
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
