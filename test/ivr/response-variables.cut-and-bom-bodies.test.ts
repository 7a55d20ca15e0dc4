/**
 * Bodies that are read for variables as they arrive: a JSON or XML body cut at 64 KiB says so in
 * the problem (not just "not valid JSON"), and a UTF-8 byte order mark before a JSON or XML
 * document does not stop it being read.
 */
import { describe, expect, it } from 'vitest';
import { compileVariables, mapVariables } from '../../src/delivery/response-variables.js';

const plan = compileVariables([{ name: 'first', path: 'items.0.id', default: 'd' }]);
const xmlPlan = compileVariables([{ name: 'first', path: 'r.item.0', default: 'd' }]);

describe('bodies cut at 64 KiB or starting with a byte order mark', () => {
  it('says a JSON or XML body was cut at 64 KiB when what was kept does not parse', () => {
    const json = mapVariables(plan, {
      encoding: 'json',
      body: '{"items":[{"id":"A-1"},{"id":"A-',
      truncated: true,
    });
    expect(json.values).toEqual({ first: 'd' });
    expect(json.problem).toMatch(/cut at 64 KiB/);
    expect(json.problem).not.toMatch(/not valid JSON/);

    const xml = mapVariables(xmlPlan, {
      encoding: 'xml',
      body: '<r><item>a</item><item>b</it',
      truncated: true,
    });
    expect(xml.values).toEqual({ first: 'd' });
    expect(xml.problem).toMatch(/cut at 64 KiB/);
    expect(xml.problem).not.toMatch(/not valid XML/);

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
