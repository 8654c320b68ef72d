import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRange, parseRow, parseSchema } from './table.js';
import { ApiError } from './errors.js';

const schema = parseSchema({ columns: ['Stud_id', 'Stud_name', 'Stud_marks'], dtypes: ['Number', 'String', 'String'] });

test('rows: accepted and normalised', () => {
  assert.deepEqual(parseRow(schema, { Stud_id: 1, Stud_name: 'A', Stud_marks: 27 }, 'r'), { Stud_id: 1, Stud_name: 'A', Stud_marks: 27 });
  assert.deepEqual(parseRow(schema, { Stud_id: '2255', Stud_name: 'A', Stud_marks: '27' }, 'r'), { Stud_id: 2255, Stud_name: 'A', Stud_marks: '27' });
  assert.deepEqual(parseRow(schema, { Stud_marks: 1, Stud_name: 'A', Stud_id: 3 }, 'r'), { Stud_id: 3, Stud_name: 'A', Stud_marks: 1 });
});

test('rows: every kind of bad value is a 400 naming the field', () => {
  const bad: [unknown, RegExp][] = [
    [null, /r must be an object/],
    [[1, 2], /r must be an object/],
    [{ Stud_id: 1.5, Stud_name: 'A', Stud_marks: 1 }, /r.Stud_id must be an integer/],
    [{ Stud_id: 'x', Stud_name: 'A', Stud_marks: 1 }, /r.Stud_id must be an integer/],
    [{ Stud_id: true, Stud_name: 'A', Stud_marks: 1 }, /r.Stud_id must be an integer/],
    [{ Stud_id: 1, Stud_name: null, Stud_marks: 1 }, /r.Stud_name must be a string/],
    [{ Stud_id: 1, Stud_name: { a: 1 }, Stud_marks: 1 }, /r.Stud_name must be a string/],
    [{ Stud_id: 1, Stud_name: ['a'], Stud_marks: 1 }, /r.Stud_name must be a string/],
    [{ Stud_id: 1, Stud_name: false, Stud_marks: 1 }, /r.Stud_name must be a string/],
    [{ Stud_id: 1, Stud_name: 'A' }, /missing Stud_marks/],
    [{ Stud_id: 1, Stud_name: 'A', Stud_marks: 1, extra: 2 }, /column extra/],
  ];
  for (const [v, re] of bad) {
    assert.throws(() => parseRow(schema, v, 'r'), (e: ApiError) => e.status === 400 && re.test(e.message) && e.message.startsWith('<Error> '), JSON.stringify(v));
  }
});

test('schemas: the first column must be a Number; names must be identifiers', () => {
  assert.throws(() => parseSchema({ columns: ['a'], dtypes: ['String'] }), /dtypes\[0\] must be "Number"/);
  assert.throws(() => parseSchema({ columns: ['a', 'b'], dtypes: ['Number'] }), /as long as/);
  assert.throws(() => parseSchema({ columns: ['a;drop', 'b'], dtypes: ['Number', 'String'] }), /identifier/);
  assert.throws(() => parseSchema({ columns: ['a', 'a'], dtypes: ['Number', 'String'] }), /repeats/);
  assert.throws(() => parseSchema({ columns: ['a', 'b'], dtypes: ['Number', 'Float'] }), /"Number" or "String"/);
});

test('ranges: low > high is refused', () => {
  assert.deepEqual(parseRange({ low: '1', high: 5 }, 'Stud_id'), { low: 1, high: 5 });
  assert.throws(() => parseRange({ low: 6, high: 5 }, 'Stud_id'), (e: ApiError) => e.code === 'RANGE_INVERTED');
  assert.throws(() => parseRange({ low: 6 }, 'Stud_id'), /Stud_id.high must be an integer/);
});
