import assert from 'node:assert/strict';
import { it } from 'node:test';
import { inspectLines, inspectToJson } from './inspect-json.js';

it('renders inspect trees as JSON: bigints as strings, hex values as 0x strings', () => {
  const json = inspectToJson({
    children: {
      rip: { value: 0xffffffff81000000n, hex: true },
      tsc: { value: 2n ** 63n, counter: true },
      port: { value: 0x3f8, hex: true },
      neg: { value: -16, hex: true },
      ratio: { value: 0.5 },
      nan: { value: NaN },
      name: { value: 'com1' },
      on: { value: true },
      none: { value: null },
      empty: {},
      sub: { children: { x: { value: 1 } } },
    },
  });
  assert.deepEqual(json, {
    rip: '0xffffffff81000000',
    tsc: '9223372036854775808',
    port: '0x3f8',
    neg: '-0x10',
    ratio: 0.5,
    nan: 'NaN',
    name: 'com1',
    on: true,
    none: null,
    empty: null,
    sub: { x: 1 },
  });
  assert.doesNotThrow(() => JSON.stringify(json));
  assert.deepEqual(inspectLines({ a: { b: 1, c: 'x' }, d: {} }), ['a/b: 1', 'a/c: x', 'd: {}']);
  assert.deepEqual(inspectLines(7, 'machine/x'), ['machine/x: 7']);
});
