/** Helpers of the response-variables tests: map a response with variables given as written. */
import { expect } from 'vitest';
import {
  compileVariables,
  mapVariables,
  type MappedVariables,
  type ResponseInput,
} from '../../src/delivery/response-variables.js';
import type { ResponseVariable } from '../../src/domain/integration.js';

/** Compiles `variables` and maps `input` with them, as an invocation does. */
export function mapResponse(variables: ResponseVariable[], input: ResponseInput): MappedVariables {
  return mapVariables(compileVariables(variables), input);
}

/** {@link mapResponse} for an XML body. */
export function mapXml(variables: ResponseVariable[], body: string): MappedVariables {
  return mapResponse(variables, { encoding: 'xml', body });
}

/** Expects `input` mapped with `variables` to give exactly `values`, with no problem. */
export function expectMapped(
  variables: ResponseVariable[],
  input: ResponseInput,
  values: Record<string, string>,
): void {
  const { values: mapped, problem } = mapResponse(variables, input);
  expect(problem).toBeUndefined();
  expect(mapped).toEqual(values);
}

/** {@link expectMapped} for an XML body. */
export function expectXml(
  variables: ResponseVariable[],
  body: string,
  values: Record<string, string>,
): void {
  expectMapped(variables, { encoding: 'xml', body }, values);
}
