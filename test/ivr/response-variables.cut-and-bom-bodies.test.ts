/**
 * Bodies that are read for variables as they arrive: a JSON or XML body cut at 64 KiB says so in
 * the problem (not just "not valid JSON"), and a UTF-8 byte order mark before a JSON or XML
 * document does not stop it being read.
 */
import { describe, expect, it } from 'vitest';
import {
  compileVariables,
  mapVariables,
  type CompiledVariable,
} from '../../src/delivery/response-variables.js';

const plan = compileVariables([{ name: 'first', path: 'items.0.id', default: 'd' }]);
const xmlPlan = compileVariables([{ name: 'first', path: 'r.item.0', default: 'd' }]);

/**
 * Maps `body`, cut at 64 KiB, with `variables`: `first` takes its default and the problem says the
 * body was cut, not that it is `invalid`.
 */
function expectCut(
  variables: readonly CompiledVariable[],
  encoding: 'json' | 'xml',
  body: string,
  invalid: RegExp,
): void {
  const { values, problem } = mapVariables(variables, { encoding, body, truncated: true });
  expect(values).toEqual({ first: 'd' });
  expect(problem).toMatch(/cut at 64 KiB/);
  expect(problem).not.toMatch(invalid);
}

describe('bodies cut at 64 KiB or starting with a byte order mark', () => {
  it('says a JSON or XML body was cut at 64 KiB when what was kept does not parse', () => {
    expectCut(plan, 'json', '{"items":[{"id":"A-1"},{"id":"A-', /not valid JSON/);
    expectCut(xmlPlan, 'xml', '<r><item>a</item><item>b</it', /not valid XML/);

    // SOAP paths from `Envelope` read the kept part of the envelope the same way.
    const soap = mapVariables(compileVariables([{ name: 'x', path: 'Envelope.Body.x' }]), {
      encoding: 'soap',
      body: '<Envelope><Body><x>1</x></Bo',
      truncated: true,
      soapResult: {},
    });
    expect(soap.problem).toMatch(/cut at 64 KiB/);
  });

  it('reads a cut body whose kept part is still a whole document', () => {
    const { values, problem } = mapVariables(plan, {
      encoding: 'json',
      body: '{"items":[{"id":"A-1"}]}     ',
      truncated: true,
    });
    expect(problem).toBeUndefined();
    expect(values).toEqual({ first: 'A-1' });
  });

  it('still says "not valid JSON" for a body that was not cut', () => {
    const { problem } = mapVariables(plan, {
      encoding: 'json',
      body: '{"items":',
      truncated: false,
    });
    expect(problem).toMatch(/not valid JSON/);
  });

  it('reads a JSON or XML body that starts with a UTF-8 byte order mark', () => {
    const json = mapVariables(plan, { encoding: 'json', body: '\uFEFF{"items":[{"id":"A-1"}]}' });
    expect(json).toEqual({ values: { first: 'A-1' } });
    const xml = mapVariables(xmlPlan, {
      encoding: 'xml',
      body: '\uFEFF<?xml version="1.0" encoding="UTF-8"?><r><item>a</item></r>',
    });
    expect(xml).toEqual({ values: { first: 'a' } });
  });
});
