/**
 * The SOAP flavour of each WSDL binding, read from the raw documents: SOAP 1.1 or 1.2 (which
 * namespace its `binding` extension element is in), the default style, and per operation the
 * SOAPAction, style and use. The soap package's model loses the version and shares one
 * SOAPAction between all bindings of a portType, so this is read here.
 */
import { XMLParser } from 'fast-xml-parser';
import type { SoapStyle, SoapUse, SoapVersion } from '../domain/soap.js';

const SOAP11_BINDING_NS = 'http://schemas.xmlsoap.org/wsdl/soap/';
const SOAP12_BINDING_NS = 'http://schemas.xmlsoap.org/wsdl/soap12/';

/** Per binding, what the raw WSDL says about its SOAP flavour. */
export interface BindingInfo {
  soapVersion: SoapVersion;
  style: SoapStyle;
  operations: Map<string, { soapAction: string; style?: SoapStyle; use: SoapUse }>;
}

/**
 * Scans raw WSDL documents for their bindings. Prefixes are resolved against the declarations
 * on the root and on the binding element, where every WSDL generator puts them.
 */
export function scanBindings(documents: readonly string[]): Map<string, BindingInfo> {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    removeNSPrefix: false,
    parseAttributeValue: false,
    parseTagValue: false,
  });
  const bindings = new Map<string, BindingInfo>();
  for (const text of documents) {
    let parsed: unknown;
    try {
      parsed = parser.parse(text);
    } catch {
      continue; // the soap package already parsed it; a schema-only document has no bindings
    }
    const root = childrenNamed(parsed, 'definitions')[0];
    if (root === undefined) continue;
    const rootNs = namespaces(root, new Map());
    for (const binding of childrenNamed(root, 'binding')) {
      const ns = namespaces(binding, rootNs);
      const name = attr(binding, 'name');
      const soapBinding = childrenNamed(binding, 'binding')[0];
      if (name === undefined || soapBinding === undefined) continue;
      const version = versionOf(soapBinding, ns);
      if (version === undefined) continue;
      const operations: BindingInfo['operations'] = new Map();
      for (const operation of childrenNamed(binding, 'operation')) {
        const opName = attr(operation, 'name');
        if (opName === undefined) continue;
        const soapOp = childrenNamed(operation, 'operation')[0];
        const style = soapOp === undefined ? undefined : styleOf(attr(soapOp, 'style'));
        const body = childrenNamed(childrenNamed(operation, 'input')[0], 'body')[0];
        operations.set(opName, {
          soapAction: soapOp === undefined ? '' : (attr(soapOp, 'soapAction') ?? ''),
          ...(style === undefined ? {} : { style }),
          use: body !== undefined && attr(body, 'use') === 'encoded' ? 'encoded' : 'literal',
        });
      }
      bindings.set(name, {
        soapVersion: version,
        style: styleOf(attr(soapBinding, 'style')) ?? 'document',
        operations,
      });
    }
  }
  return bindings;
}

function versionOf(element: unknown, ns: Map<string, string>): SoapVersion | undefined {
  const qname = (element as { '#qname'?: string })['#qname'] ?? '';
  const prefix = qname.includes(':') ? qname.slice(0, qname.indexOf(':')) : '';
  const uri = ns.get(prefix);
  if (uri === SOAP11_BINDING_NS) return '1.1';
  if (uri === SOAP12_BINDING_NS) return '1.2';
  return undefined;
}

function styleOf(value: string | undefined): SoapStyle | undefined {
  return value === 'rpc' || value === 'document' ? value : undefined;
}

/** Child elements of `node` whose local name is `local`, whatever their prefix. */
function childrenNamed(node: unknown, local: string): Record<string, unknown>[] {
  if (node === null || typeof node !== 'object') return [];
  const found: Record<string, unknown>[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('@') || key.startsWith('#')) continue;
    const name = key.includes(':') ? key.slice(key.indexOf(':') + 1) : key;
    if (name !== local) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      // An element with neither attributes nor children parses as a string: give it a body.
      const element: Record<string, unknown> =
        item !== null && typeof item === 'object' ? (item as Record<string, unknown>) : {};
      Object.defineProperty(element, '#qname', { value: key, enumerable: false });
      found.push(element);
    }
  }
  return found;
}

function attr(node: unknown, name: string): string | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  const value = (node as Record<string, unknown>)[`@${name}`];
  return typeof value === 'string' ? value : undefined;
}

function namespaces(
  node: Record<string, unknown>,
  inherited: Map<string, string>,
): Map<string, string> {
  const map = new Map(inherited);
  for (const [key, value] of Object.entries(node)) {
    if (typeof value !== 'string') continue;
    if (key === '@xmlns') map.set('', value);
    else if (key.startsWith('@xmlns:')) map.set(key.slice(7), value);
  }
  return map;
}
