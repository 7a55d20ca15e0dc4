/**
 * SOAP parameter values (SPEC §2.2) compiled in the `soap` context: plain text, because the SOAP
 * library XML-escapes every value when it builds the envelope. Escaping here too would send
 * `&amp;amp;`. Only characters XML 1.0 cannot carry at all are replaced (by U+FFFD).
 */
import {
  compileTemplate,
  type CompiledTemplate,
  type RenderError,
  type TemplateProblem,
} from './compile.js';
import type { CompileFilterOptions } from './filters.js';
import { systemValues, type RenderScope } from './scope.js';

export interface SoapParamInput {
  /** Dotted for nested parameters (`customer.phone`); not a template. */
  name: string;
  value: string;
}

export interface CompiledSoapParams {
  readonly tokens: readonly string[];
  render(
    scope: RenderScope,
  ): { ok: true; params: SoapParamInput[] } | { ok: false; error: RenderError };
}

/**
 * Compiles each `value`; problems name `config.params.<index>.value` with line and column.
 *
 * ### Example
 * ```ts
 * const compiled = compileSoapParams([{ name: 'phone', value: '{{contact.phone | e164}}' }]);
 * if (compiled.ok) compiled.params.render(scope); // {ok: true, params: [{name: 'phone', value: '+1…'}]}
 * ```
 */
export function compileSoapParams(
  params: readonly SoapParamInput[],
  options: CompileFilterOptions = {},
): { ok: true; params: CompiledSoapParams } | { ok: false; problems: TemplateProblem[] } {
  const problems: TemplateProblem[] = [];
  const compiled: { name: string; value: CompiledTemplate }[] = [];
  params.forEach((param, index) => {
    const result = compileTemplate(param.value, 'soap', {
      ...options,
      field: `config.params.${index}.value`,
    });
    if (result.ok) compiled.push({ name: param.name, value: result.template });
    else problems.push(...result.problems);
  });
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    params: {
      tokens: [...new Set(compiled.flatMap((p) => p.value.tokens))],
      render(scope) {
        if (scope.system === undefined) scope = { ...scope, system: systemValues(Date.now()) };
        const out: SoapParamInput[] = [];
        for (const param of compiled) {
          const result = param.value.render(scope);
          if (!result.ok) return result;
          out.push({ name: param.name, value: result.value });
        }
        return { ok: true, params: out };
      },
    },
  };
}
