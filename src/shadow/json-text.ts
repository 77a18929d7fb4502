// JSON text written and checked without building values, for the shadow log's records: a string quoted,
// a number as JSON writes it, and whether a body's bytes are one JSON object or array (so it can be logged
// as its own text without being parsed). Pure.

/** Characters JSON.stringify escapes in a string (controls, quote, backslash, lone surrogates): all but these. */
const ESCAPED = /[^\u0020\u0021\u0023-\u005b\u005d-\ud7ff\ue000-\uffff]/;

/** `text` as a JSON string, as JSON.stringify writes it. */
export function quoted(text: string): string {
  return ESCAPED.test(text) ? JSON.stringify(text) : `"${text}"`;
}

/** `value` as JSON writes it: null when absent or not finite. */
export function jsonNumber(value: number | null | undefined): string {
  return value !== null && value !== undefined && Number.isFinite(value) ? `${value}` : 'null';
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
/** What `at` reads past the end: one past the last byte value, so the byte tables have a place for it. */
const END = 0x100;

/** Bytes that stand for themselves in a JSON string: all but controls, the quote and the backslash. */
const PLAIN = byteTable((byte) => byte >= 0x20 && byte !== QUOTE && byte !== BACKSLASH);
const DIGIT = byteTable((byte) => byte >= 0x30 && byte <= 0x39);
const HEX_DIGIT = byteTable((byte) => DIGIT[byte] === 1 || (byte >= 0x61 && byte <= 0x66) || (byte >= 0x41 && byte <= 0x46));
/** Bytes that may follow a backslash in a JSON string, other than `u`: " \ / b f n r t. */
const SHORT_ESCAPE = byteTable((byte) => '"\\/bfnrt'.includes(String.fromCharCode(byte)));
const LITERALS = [Buffer.from('true'), Buffer.from('false'), Buffer.from('null')];

/**
 * Whether `bytes` hold one JSON object or array (RFC 8259) with only JSON whitespace around it: what
 * JSON.parse accepts of their UTF-8 text, except that nesting has no depth limit. Bytes of 0x80 and above
 * are taken as they are inside strings (invalid UTF-8 decodes to U+FFFD, itself valid there).
 */
export function isJsonContainer(bytes: Uint8Array): boolean {
  let i = skipSpace(bytes, 0);
  if (at(bytes, i) !== OPEN_OBJECT && at(bytes, i) !== OPEN_ARRAY) return false;
  const open: number[] = []; // the closing byte each open container waits for
  for (;;) {
    // A value starts at i.
    const first = at(bytes, i);
    if (first === OPEN_OBJECT || first === OPEN_ARRAY) {
      const close = first === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY;
      i = skipSpace(bytes, i + 1);
      if (at(bytes, i) !== close) {
        open.push(close);
        i = close === CLOSE_OBJECT ? memberValueStart(bytes, i) : i;
        if (i < 0) return false;
        continue;
      }
      i++;
    } else {
      i = scalarEnd(bytes, i);
      if (i < 0) return false;
    }
    // A value ended at i: close what it ends, then go on to the next member or element.
    for (;;) {
      i = skipSpace(bytes, i);
      const close = open.length > 0 ? (open[open.length - 1] as number) : END;
      if (close === END) return i === bytes.length;
      const next = at(bytes, i);
      if (next === close) {
        open.pop();
        i++;
        continue;
      }
      if (next !== COMMA) return false;
      i = skipSpace(bytes, i + 1);
      i = close === CLOSE_OBJECT ? memberValueStart(bytes, i) : i;
      if (i < 0) return false;
      break;
    }
  }
}

/** The byte at i, END past the end (a read out of bounds is slow, and not a number). */
function at(bytes: Uint8Array, i: number): number {
  return i < bytes.length ? (bytes[i] as number) : END;
}

function skipSpace(bytes: Uint8Array, i: number): number {
  for (;;) {
    const byte = at(bytes, i);
    if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return i;
    i++;
  }
}

/** Reads an object member's name and colon from i; where its value starts, or -1. */
function memberValueStart(bytes: Uint8Array, i: number): number {
  if (at(bytes, i) !== QUOTE) return -1;
  const end = stringEnd(bytes, i);
  if (end < 0) return -1;
  i = skipSpace(bytes, end);
  return at(bytes, i) === COLON ? skipSpace(bytes, i + 1) : -1;
}

/** Reads a string, number or literal from i; where it ends, or -1. */
function scalarEnd(bytes: Uint8Array, i: number): number {
  const first = at(bytes, i);
  if (first === QUOTE) return stringEnd(bytes, i);
  if (first === MINUS || isIn(DIGIT, first)) return numberEnd(bytes, i);
  for (const literal of LITERALS) {
    if (first !== literal[0]) continue;
    for (let k = 1; k < literal.length; k++) if (at(bytes, i + k) !== literal[k]) return -1;
    return i + literal.length;
  }
  return -1;
}

/** Reads the string whose opening quote is at i; where it ends, or -1. */
function stringEnd(bytes: Uint8Array, i: number): number {
  i++;
  for (;;) {
    while (isIn(PLAIN, at(bytes, i))) i++;
    const byte = at(bytes, i);
    if (byte === QUOTE) return i + 1;
    if (byte !== BACKSLASH) return -1; // a control byte, or the end
    const escape = at(bytes, i + 1);
    if (escape === 0x75 /* u */) {
      for (let k = 2; k < 6; k++) if (!isIn(HEX_DIGIT, at(bytes, i + k))) return -1;
      i += 6;
    } else if (isIn(SHORT_ESCAPE, escape)) i += 2;
    else return -1;
  }
}

/** Reads `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?` from i; where it ends, or -1. */
function numberEnd(bytes: Uint8Array, i: number): number {
  if (at(bytes, i) === MINUS) i++;
  if (at(bytes, i) === 0x30) i++;
  else if (isIn(DIGIT, at(bytes, i))) i = digitsEnd(bytes, i);
  else return -1;
  if (at(bytes, i) === 0x2e /* . */) {
    if (!isIn(DIGIT, at(bytes, i + 1))) return -1;
    i = digitsEnd(bytes, i + 1);
  }
  const exponent = at(bytes, i);
  if (exponent === 0x65 || exponent === 0x45 /* e E */) {
    i++;
    const sign = at(bytes, i);
    if (sign === 0x2b || sign === MINUS) i++;
    if (!isIn(DIGIT, at(bytes, i))) return -1;
    i = digitsEnd(bytes, i);
  }
  return i;
}

function digitsEnd(bytes: Uint8Array, i: number): number {
  while (isIn(DIGIT, at(bytes, i))) i++;
  return i;
}

/** Whether `byte` (END included) is one the table marks. */
function isIn(table: Uint8Array, byte: number): boolean {
  return table[byte] === 1;
}

/** A table of the bytes `marks` picks, END left out. */
function byteTable(marks: (byte: number) => boolean): Uint8Array {
  const table = new Uint8Array(END + 1);
  for (let byte = 0; byte < END; byte++) table[byte] = marks(byte) ? 1 : 0;
  return table;
}
