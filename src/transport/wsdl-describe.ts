/**
 * Reads what a parsed WSDL offers: services, ports, operations and each operation's input
 * elements, with types, nesting and required/optional. The `soap` package resolves imports,
 * includes and namespaces into its element model, but its own `describe()` drops `minOccurs`,
 * the SOAP version of a binding, and gives every port of a portType the same SOAPAction. So the
 * schema is walked here over that model, and the binding details (SOAP version, style, use,
 * SOAPAction per operation) are read from the raw documents by wsdl-bindings.ts.
 */
import type { WSDL } from 'soap';
import {
  AllElement,
  AnyElement,
  AttributeElement,
  ChoiceElement,
  ComplexContentElement,
  ComplexTypeElement,
  ElementElement,
  EnumerationElement,
  ExtensionElement,
  GroupElement,
  MessageElement,
  RestrictionElement,
  SequenceElement,
  SimpleContentElement,
  SimpleTypeElement,
  type DefinitionsElement,
  type Element,
  type OperationElement,
} from 'soap/lib/wsdl/elements.js';
import type {
  SoapOperationSpec,
  SoapParamSpec,
  SoapPortSpec,
  SoapServiceSpec,
  SoapStyle,
} from '../domain/soap.js';
import type { BindingInfo } from './wsdl-bindings.js';

const XSD_NS = 'http://www.w3.org/2001/XMLSchema';
const SOAP_ENCODING_NS = 'http://schemas.xmlsoap.org/soap/encoding/';
/** Nesting deeper than this is cut (and marked recursive): no real input is this deep. */
const MAX_DEPTH = 12;

/**
 * The services a parsed WSDL offers, as `describe` reports them. Ports whose binding is not a
 * SOAP binding (HTTP GET/POST bindings .NET also publishes) are left out.
 */
export function describeServices(
  wsdl: WSDL,
  bindingInfo: Map<string, BindingInfo>,
): SoapServiceSpec[] {
  const definitions = wsdl.definitions;
  const bindingNames = new Map<unknown, string>(
    Object.entries(definitions.bindings).map(([name, binding]) => [binding, name]),
  );
  const services: SoapServiceSpec[] = [];
  for (const [serviceName, service] of Object.entries(definitions.services)) {
    const ports: SoapPortSpec[] = [];
    for (const [portName, port] of Object.entries(service.ports)) {
      const bindingName = bindingNames.get(port.binding);
      const info = bindingName === undefined ? undefined : bindingInfo.get(bindingName);
      if (bindingName === undefined || info === undefined) continue;
      const operations: SoapOperationSpec[] = [];
      for (const [opName, method] of Object.entries(port.binding.methods)) {
        operations.push(describeOperation(opName, method, info, definitions));
      }
      ports.push({
        name: portName,
        binding: bindingName,
        address: typeof port.location === 'string' ? port.location : '',
        soapVersion: info.soapVersion,
        style: info.style,
        operations,
      });
    }
    if (ports.length > 0) services.push({ name: serviceName, ports });
  }
  return services;
}

function describeOperation(
  name: string,
  method: OperationElement,
  binding: BindingInfo,
  definitions: DefinitionsElement,
): SoapOperationSpec {
  const declared = binding.operations.get(name);
  const style: SoapStyle = declared?.style ?? binding.style;
  const base = {
    name,
    soapAction: declared?.soapAction ?? '',
    style,
    use: declared?.use ?? 'literal',
    hasOutput: Boolean(method.output),
  } as const;
  const walker = new SchemaWalker(definitions);
  const input: unknown = method.input;
  if (input instanceof ElementElement) {
    const ns = input.targetNamespace ?? '';
    const spec = walker.element(input, '', ns, []);
    const inputElement = input.$name ?? name;
    if (spec.children === undefined) {
      // A bare element of simple type: the whole body is one value.
      return {
        ...base,
        parameterStyle: 'bare',
        inputElement,
        params: [{ ...spec, required: true, repeated: false, path: spec.name }],
        simpleInput: true,
      };
    }
    return {
      ...base,
      parameterStyle: inputElement === name ? 'wrapped' : 'bare',
      inputElement,
      // Parameters are named from inside the input element: `customer.phone`.
      params: rebase(spec.children, spec.path.length + 1),
    };
  }
  if (input instanceof MessageElement) {
    // rpc: one accessor per part. The soap package has resolved each part's type into `parts`:
    // a schema type element, or the QName string of a built-in type.
    const parts = (input as unknown as { parts?: Record<string, unknown> }).parts ?? {};
    const params = Object.entries(parts).map(([partName, type]) => walker.rpcPart(partName, type));
    return { ...base, parameterStyle: 'rpc', params };
  }
  return { ...base, parameterStyle: style === 'rpc' ? 'rpc' : 'wrapped', params: [] };
}

/** Drops the input element's name (`CreateTicket.`) from the front of every path. */
function rebase(specs: SoapParamSpec[], cut: number): SoapParamSpec[] {
  return specs.map((spec) => ({
    ...spec,
    path: spec.path.slice(cut),
    ...(spec.children === undefined ? {} : { children: rebase(spec.children, cut) }),
  }));
}

type Attrs = Record<string, unknown>;

function dollar(element: Element, name: string): string | undefined {
  const value = (element as unknown as Attrs)[`$${name}`];
  return typeof value === 'string' ? value : undefined;
}

class SchemaWalker {
  constructor(private readonly definitions: DefinitionsElement) {}

  /** An rpc message part, typed by what the soap package resolved its `type=` to. */
  rpcPart(name: string, type: unknown): SoapParamSpec {
    const leaf = { name, path: name, required: true, repeated: false };
    if (type instanceof ComplexTypeElement) {
      // The soap package overwrote the type's `xmlns` with its namespace URI.
      const ns = typeof type.xmlns === 'string' ? type.xmlns : '';
      const typeName = dollar(type, 'name') ?? name;
      return { ...leaf, type: typeName, ...this.complex(type, name, ns, [`${ns}::${typeName}`]) };
    }
    if (type instanceof SimpleTypeElement) return { ...leaf, ...this.simple(type) };
    return { ...leaf, type: typeof type === 'string' ? splitQName(type).local : 'anyType' };
  }

  /** One `xs:element` (local, global, or a `ref=` to a global one), at `parentPath`. */
  element(el: ElementElement, parentPath: string, ns: string, stack: string[]): SoapParamSpec {
    let target: ElementElement = el;
    let targetNs = ns;
    const ref = dollar(el, 'ref');
    if (ref !== undefined) {
      const found = this.lookup(el, ref, ns, 'element');
      if (found.element instanceof ElementElement) {
        target = found.element;
        targetNs = found.ns;
      }
    }
    const name = dollar(target, 'name') ?? splitQName(ref ?? '').local;
    const min = dollar(el, 'minOccurs') ?? '1';
    const max = dollar(el, 'maxOccurs') ?? '1';
    const repeated = max === 'unbounded' || Number.parseInt(max, 10) > 1;
    const path = `${parentPath === '' ? '' : `${parentPath}.`}${name}${repeated ? '[]' : ''}`;
    const occurs = { required: Number.parseInt(min, 10) >= 1, repeated };
    const typeRef = dollar(target, 'type');
    if (typeRef !== undefined) {
      return { ...this.typed(target, typeRef, name, path, targetNs, stack), ...occurs };
    }
    for (const child of target.children ?? []) {
      if (child instanceof ComplexTypeElement) {
        return { name, path, type: name, ...occurs, ...this.complex(child, path, targetNs, stack) };
      }
      if (child instanceof SimpleTypeElement) {
        return { name, path, ...occurs, ...this.simple(child) };
      }
    }
    return { name, path, type: 'anyType', ...occurs };
  }

  /** An element or part whose type is named: a primitive, a simple type or a complex type. */
  private typed(
    owner: Element,
    typeRef: string | undefined,
    name: string,
    path: string,
    ns: string,
    stack: string[],
  ): SoapParamSpec {
    const leaf = { name, path, required: true, repeated: false };
    if (typeRef === undefined) return { ...leaf, type: 'anyType' };
    const found = this.lookup(owner, typeRef, ns, 'type');
    const local = splitQName(typeRef).local;
    if (found.element instanceof ComplexTypeElement) {
      const key = `${found.ns}::${local}`;
      if (stack.includes(key) || stack.length >= MAX_DEPTH) {
        return { ...leaf, type: local, children: [], recursive: true };
      }
      return {
        ...leaf,
        type: local,
        ...this.complex(found.element, path, found.ns, [...stack, key]),
      };
    }
    if (found.element instanceof SimpleTypeElement) {
      return { ...leaf, ...this.simple(found.element), type: local };
    }
    return { ...leaf, type: local };
  }

  /** A complex type's elements; a complex type with simple content is a text value. */
  private complex(
    type: ComplexTypeElement,
    path: string,
    ns: string,
    stack: string[],
  ): { children?: SoapParamSpec[] } {
    const children: SoapParamSpec[] = [];
    for (const child of type.children ?? []) {
      if (child instanceof SimpleContentElement) return {};
      if (child instanceof ComplexContentElement) {
        for (const derivation of child.children ?? []) {
          if (derivation instanceof ExtensionElement) {
            // An extension's elements follow its base type's elements.
            const base = this.lookup(derivation, derivation.$base, ns, 'type');
            if (base.element instanceof ComplexTypeElement) {
              const key = `${base.ns}::${splitQName(derivation.$base).local}`;
              if (!stack.includes(key)) {
                children.push(
                  ...(this.complex(base.element, path, base.ns, [...stack, key]).children ?? []),
                );
              }
            }
            children.push(...this.particles(derivation, path, ns, stack, false));
          } else if (derivation instanceof RestrictionElement) {
            children.push(...this.particles(derivation, path, ns, stack, false));
          }
        }
      } else {
        children.push(...this.particles(child, path, ns, stack, true));
      }
    }
    return { children };
  }

  /** The elements inside a sequence, all, choice or group (or the node itself, if it is one). */
  private particles(
    node: Element,
    path: string,
    ns: string,
    stack: string[],
    self: boolean,
  ): SoapParamSpec[] {
    const out: SoapParamSpec[] = [];
    const containers = self ? [node] : (node.children ?? []);
    for (const container of containers) {
      if (container instanceof SequenceElement || container instanceof AllElement) {
        for (const child of container.children ?? [])
          out.push(...this.particle(child, path, ns, stack, false));
      } else if (container instanceof ChoiceElement) {
        for (const child of container.children ?? [])
          out.push(...this.particle(child, path, ns, stack, true));
      } else if (container instanceof GroupElement) {
        out.push(...this.particle(container, path, ns, stack, false));
      }
    }
    return out;
  }

  private particle(
    child: Element,
    path: string,
    ns: string,
    stack: string[],
    inChoice: boolean,
  ): SoapParamSpec[] {
    const optional = (specs: SoapParamSpec[]): SoapParamSpec[] =>
      inChoice ? specs.map((spec) => ({ ...spec, required: false })) : specs;
    if (child instanceof ElementElement) return optional([this.element(child, path, ns, stack)]);
    if (child instanceof AnyElement || child instanceof AttributeElement) return [];
    if (child instanceof GroupElement) {
      const ref = dollar(child, 'ref');
      if (ref !== undefined) {
        const found = this.lookup(child, ref, ns, 'group');
        if (found.element instanceof GroupElement) {
          return optional(this.particles(found.element, path, found.ns, stack, false));
        }
        return [];
      }
      return optional(this.particles(child, path, ns, stack, false));
    }
    if (
      child instanceof SequenceElement ||
      child instanceof ChoiceElement ||
      child instanceof AllElement
    ) {
      return optional(this.particles(child, path, ns, stack, true));
    }
    return [];
  }

  /** A simple type: its base type's name and, for an enumeration, the allowed values. */
  private simple(type: SimpleTypeElement): { type: string; enum?: string[] } {
    for (const child of type.children ?? []) {
      if (child instanceof RestrictionElement) {
        const values = (child.children ?? [])
          .filter((item) => item instanceof EnumerationElement)
          .map((item) => String((item as unknown as Attrs)[item.valueKey] ?? ''));
        const base = splitQName(child.$base ?? '').local || 'string';
        return values.length > 0 ? { type: base, enum: values } : { type: base };
      }
    }
    return { type: dollar(type, 'name') ?? 'string' };
  }

  /** Resolves a QName against the declarations in scope and finds it in the schemas. */
  private lookup(
    owner: Element,
    qname: string,
    contextNs: string,
    kind: 'type' | 'element' | 'group',
  ): { element: Element | undefined; ns: string } {
    const { prefix, local } = splitQName(qname);
    const candidates: string[] = [];
    const declared = prefixNamespace(owner, prefix, this.definitions);
    if (declared !== undefined) candidates.push(declared);
    // An unprefixed name with no default namespace in scope: the schema's own types first.
    if (prefix === '') candidates.push(contextNs);
    for (const ns of candidates) {
      if (ns === XSD_NS || ns === SOAP_ENCODING_NS) return { element: undefined, ns };
      const schema = this.definitions.schemas[ns];
      if (schema === undefined) continue;
      const element =
        kind === 'type'
          ? (schema.complexTypes[local] ?? schema.types[local])
          : kind === 'element'
            ? schema.elements[local]
            : schema.groups[local];
      if (element !== undefined) return { element, ns };
    }
    return { element: undefined, ns: candidates[0] ?? contextNs };
  }
}

function prefixNamespace(
  owner: Element,
  prefix: string,
  definitions: DefinitionsElement,
): string | undefined {
  // The soap package files a default namespace declaration under this key.
  const key = prefix === '' ? '__tns__' : prefix;
  const maps: (Record<string, unknown> | undefined)[] = [
    prefix === '' ? undefined : owner.xmlns,
    prefix === '' ? undefined : (owner.schemaXmlns as Record<string, unknown> | undefined),
    prefix === '' ? undefined : owner.definitionsXmlns,
    prefix === '' ? undefined : definitions.xmlns,
  ];
  for (const map of maps) {
    const value = map?.[key];
    if (typeof value === 'string') return value;
  }
  return undefined;
}

function splitQName(qname: string): { prefix: string; local: string } {
  const colon = qname.indexOf(':');
  return colon < 0
    ? { prefix: '', local: qname }
    : { prefix: qname.slice(0, colon), local: qname.slice(colon + 1) };
}
