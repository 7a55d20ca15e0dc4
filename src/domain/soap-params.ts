/**
 * SOAP parameters, the pure part: how dotted parameter names (`customer.address.city`,
 * `lines.0.sku`) fit an operation's input, and the nested object the SOAP library serialises
 * from them.
 */
import type { SoapConfig } from './integration.js';
import {
  quotedList,
  type SoapOperationSpec,
  type SoapParamSpec,
  type SoapProblem,
} from './soap.js';

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
      return `"${name}": ${where} has no element "${segment}" (it has ${quotedList(names)})`;
    }
    current = found;
    level = found.children;
    where = `"${found.path.replaceAll('[]', '')}"`;
  }
  if (current?.children !== undefined && !current.recursive && current.children.length > 0) {
    const names = current.children.map((spec) => spec.name);
    return `"${name}" is a complex element: name one of its elements instead, e.g. "${name}.${names[0] ?? ''}" (it has ${quotedList(names)})`;
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
