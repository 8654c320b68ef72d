import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dataArray } from './shard-client.js';

test('dataArray takes the rows out of a /read body without parsing them, and falls back to parsing', () => {
  assert.equal(dataArray('{"data":[{"Stud_id":1}],"status":"success"}'), '[{"Stud_id":1}]');
  assert.equal(dataArray('{"data":[],"status":"success"}'), '[]');
  assert.equal(dataArray('{"status":"success","data":[{"Stud_id":2}]}'), '[{"Stud_id":2}]');
});
