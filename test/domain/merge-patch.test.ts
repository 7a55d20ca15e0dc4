import { describe, expect, it } from 'vitest';
import { mergePatch } from '../../src/domain/merge-patch.js';

describe('mergePatch (RFC 7396)', () => {
  it('answers the examples of RFC 7396 appendix A', () => {
    const cases: [unknown, unknown, unknown][] = [
      [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
      [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
      [{ a: 'b' }, { a: null }, {}],
      [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
      [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
      [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
      [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
      [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
      [
        ['a', 'b'],
        ['c', 'd'],
        ['c', 'd'],
      ],
      [{ a: 'b' }, ['c'], ['c']],
      [{ a: 'foo' }, null, null],
      [{ a: 'foo' }, 'bar', 'bar'],
      [{ e: null }, { a: 1 }, { e: null, a: 1 }],
      [[1, 2], { a: 'b', c: null }, { a: 'b' }],
      [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
    ];
    for (const [target, patch, result] of cases)
      expect(mergePatch(target, patch), JSON.stringify([target, patch])).toEqual(result);
  });

  it('changes neither argument', () => {
    const target = { retry: { maxAttempts: 8, scheduleSeconds: [5] }, maxConcurrency: 4 };
    const patch = { retry: { maxAttempts: 3 }, maxConcurrency: null };
    const before = structuredClone({ target, patch });
    expect(mergePatch(target, patch)).toEqual({ retry: { maxAttempts: 3, scheduleSeconds: [5] } });
    expect({ target, patch }).toEqual(before);
  });

  it('keeps a "__proto__" key of a parsed patch as a key, without touching any prototype', () => {
    const patch: unknown = JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1}');
    const merged = mergePatch({ a: 1 }, patch) as Record<string, unknown>;
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(Object.keys(merged)).toEqual(['a', '__proto__', 'constructor']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
