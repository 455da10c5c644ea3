import { describe, expect, it } from 'vitest';
import { checkIntegerOptions, describeOptionValue, redactUrl, withoutUndefined } from '../src/index';

describe('option checks', () => {
  it('names values without echoing the contents of objects', () => {
    expect([
      describeOptionValue('x'),
      describeOptionValue(undefined),
      describeOptionValue(null),
      describeOptionValue(Number.NaN),
      describeOptionValue([]),
      describeOptionValue([{ password: 'p' }]),
      describeOptionValue({ password: 'p' }),
    ]).toEqual(["'x'", 'unset', 'null', 'NaN', 'an empty array', 'an array', 'an object']);
  });

  it('reports each integer outside its range', () => {
    const problems: string[] = [];
    checkIntegerOptions(problems, { a: 1, b: 1.5, c: '3', d: 11 }, [
      ['a', 0, 10],
      ['b', 0, 10],
      ['c', 0, 10],
      ['d', 0, 10],
    ]);
    expect(problems).toEqual([
      'b is 1.5 when it must be an integer from 0 to 10',
      "c is '3' when it must be an integer from 0 to 10",
      'd is 11 when it must be an integer from 0 to 10',
    ]);
  });

  it('drops undefined fields and redacts URL credentials', () => {
    expect(withoutUndefined({ a: 1, b: undefined, c: null })).toEqual({ a: 1, c: null });
    expect(redactUrl('redis://user:secret@host:6379/0')).toBe('redis://***@host:6379/0');
    expect(redactUrl('nats://host:4222')).toBe('nats://host:4222');
  });
});
