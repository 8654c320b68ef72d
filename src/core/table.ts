/**
 * The table schema and row validation (API.md, "The table"). Pure: no I/O.
 * The hot path (every /write) goes through parseRow, so it is hand-written rather than zod.
 */
import { fail } from './errors.js';

export type Dtype = 'Number' | 'String';
export interface Schema {
  columns: string[];
  dtypes: Dtype[];
}
export type Row = Record<string, string | number>;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const INT_STRING = /^-?\d{1,15}$/;
const NUM_STRING = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/** Validates a schema object; the first column is the integer shard key. */
export function parseSchema(input: unknown, where = 'schema'): Schema {
  if (!isPlainObject(input)) fail('INVALID_FIELD', `${where} must be an object with columns and dtypes`);
  const { columns, dtypes } = input as { columns?: unknown; dtypes?: unknown };
  if (!Array.isArray(columns) || columns.length < 1) fail('INVALID_FIELD', `${where}.columns must be a non-empty array`);
  if (!Array.isArray(dtypes) || dtypes.length !== columns.length)
    fail('INVALID_FIELD', `${where}.dtypes must be an array as long as ${where}.columns`);
  const seen = new Set<string>();
  columns.forEach((c, i) => {
    if (typeof c !== 'string' || !IDENT.test(c)) fail('INVALID_FIELD', `${where}.columns[${i}] must be an identifier`);
    if (seen.has(c)) fail('INVALID_FIELD', `${where}.columns repeats ${c}`);
    seen.add(c);
  });
  dtypes.forEach((d, i) => {
    if (d !== 'Number' && d !== 'String') fail('INVALID_FIELD', `${where}.dtypes[${i}] must be "Number" or "String"`);
  });
  if (dtypes[0] !== 'Number') fail('INVALID_FIELD', `${where}.dtypes[0] must be "Number": the first column is the shard key`);
  return { columns: [...columns] as string[], dtypes: [...dtypes] as Dtype[] };
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An integer key; a numeric string ("2255") is accepted where the assignment's examples use one. */
export function parseKey(v: unknown, where: string): number {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return v;
  } else if (typeof v === 'string' && INT_STRING.test(v.trim())) {
    return Number(v.trim());
  }
  return fail('INVALID_FIELD', `${where} must be an integer`);
}

/**
 * Validates one row against the schema and returns it normalised: the key (and any Number column) as a number,
 * String columns as written (a string, or a number as the assignment's examples send). Exactly the schema's columns.
 */
export function parseRow(schema: Schema, v: unknown, where: string): Row {
  if (!isPlainObject(v)) fail('INVALID_FIELD', `${where} must be an object`);
  const { columns, dtypes } = schema;
  const out: Row = {};
  let n = 0;
  for (let i = 0; i < columns.length; i++) {
    const col = columns[i];
    const val = v[col];
    if (val === undefined) fail('INVALID_FIELD', `${where} is missing ${col}`);
    n++;
    if (i === 0) {
      out[col] = parseKey(val, `${where}.${col}`);
    } else if (dtypes[i] === 'Number') {
      if (typeof val === 'number' && Number.isFinite(val)) out[col] = val;
      else if (typeof val === 'string' && NUM_STRING.test(val.trim())) out[col] = Number(val.trim());
      else fail('INVALID_FIELD', `${where}.${col} must be a number`);
    } else {
      if (typeof val === 'string' || (typeof val === 'number' && Number.isFinite(val))) out[col] = val;
      else fail('INVALID_FIELD', `${where}.${col} must be a string`);
    }
  }
  if (Object.keys(v).length !== n) {
    const extra = Object.keys(v).find((k) => !columns.includes(k));
    fail('INVALID_FIELD', `${where} has column ${extra}, which the schema lacks`);
  }
  return out;
}

/** Validates {"low": int, "high": int} with low <= high. */
export function parseRange(v: unknown, where: string): { low: number; high: number } {
  if (!isPlainObject(v)) fail('INVALID_FIELD', `${where} must be an object with low and high`);
  const low = parseKey(v.low, `${where}.low`);
  const high = parseKey(v.high, `${where}.high`);
  if (low > high) fail('RANGE_INVERTED', `${where}.low (${low}) is greater than ${where}.high (${high})`);
  return { low, high };
}

export function sameSchema(a: Schema, b: Schema): boolean {
  return a.columns.join('\0') === b.columns.join('\0') && a.dtypes.join('\0') === b.dtypes.join('\0');
}
