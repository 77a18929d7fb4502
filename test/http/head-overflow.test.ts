// requestTargetOverflowed, row by row: reads shaped as node 20's parser (llhttp 9) left them in
// 'clientError' for an HPE_HEADER_OVERFLOW at maxHeaderBytes 16 384, the stop (bytesParsed) marked '|'.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestTargetOverflowed } from '../../src/http/head-overflow.js';

const a = (n: number) => 'a'.repeat(n);

/** [what was sent, the read with '|' where the parser stopped, the request-target overflowed] */
const ROWS: [string, string, boolean][] = [
  ['20 000-byte URL, one read: stops on the SP after it', `GET /${a(19_999)}| HTTP/1.1\r\nHost: a\r\n\r\n`, true],
  ['absolute-form URL', `GET http://a.example/${a(19_999)}| HTTP/1.1\r\nHost: a\r\n\r\n`, true],
  ['the URL ends in a later read than it began', `${a(5_000)}| HTTP/1.1\r\nHost: a\r\n\r\n`, true],
  ['a small request, then a 20 000-byte URL in the same read', `GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /${a(19_999)}| HTTP/1.1\r\nHost: a\r\n\r\n`, true],
  ['bare LF after the request line', `GET /${a(19_999)}| HTTP/1.1\nHost: a\n\n`, true],
  ['20 000-byte header value: stops on the LF after its CR', `GET /good HTTP/1.1\r\nHost: a\r\nX-Big: ${a(20_000)}\r|\n\r\n`, false],
  ['header value with a space and "HTTP/1.1" inside', `GET /good HTTP/1.1\r\nHost: a\r\nX-Big: ${a(16_400)} HTTP/1.1 ${a(3_000)}\r|\n\r\n`, false],
  ['20 000-byte header name: stops one past its colon', `GET /good HTTP/1.1\r\nHost: a\r\nX${a(20_000)}:| v\r\n\r\n`, false],
  ['16 383-byte URL, then "Host" crosses the limit', `GET /${a(16_382)} HTTP/1.1\r\nHost:| a\r\n\r\n`, false],
  ['the read ends inside the URL or a header value (either arrived in pieces): cannot tell', `${a(1_000)}|`, false],
  ['a URL ending in ":" reads as a header name (known miss, stays 431)', `GET /${a(19_999)}:| HTTP/1.1\r\nHost: a\r\n\r\n`, false],
];

test('an overflow is the request-target\'s only when the parser stopped on the SP that ends it', () => {
  for (const [sent, marked, expected] of ROWS) {
    const stoppedAt = marked.indexOf('|');
    const read = Buffer.from(marked.slice(0, stoppedAt) + marked.slice(stoppedAt + 1), 'latin1');
    assert.equal(requestTargetOverflowed(read, stoppedAt), expected, sent);
  }
});

test('without the bytes or the stop node usually attaches, the overflow stays a 431', () => {
  assert.equal(requestTargetOverflowed(undefined, 10), false);
  assert.equal(requestTargetOverflowed(Buffer.from('GET /a HTTP/1.1'), undefined), false);
});
