// The transport-error table of src/http/errors.ts, row by row: each undici/node error code maps to one
// failure kind, and each kind to one coded proxy error (refused/reset/invalid -> 502, timeout -> 504);
// and how much of the client's input a message quotes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyTransportError, errorBody, ProxyError, quotedInput, STATUS_OF, upstreamError, type UpstreamFailure } from '../../src/http/errors.js';

const TABLE: [string, UpstreamFailure, number, string][] = [
  ['ECONNREFUSED', 'refused', 502, 'ABPROXY_UPSTREAM_REFUSED'],
  ['ENOTFOUND', 'refused', 502, 'ABPROXY_UPSTREAM_REFUSED'],
  ['EAI_AGAIN', 'refused', 502, 'ABPROXY_UPSTREAM_REFUSED'],
  ['EHOSTUNREACH', 'refused', 502, 'ABPROXY_UPSTREAM_REFUSED'],
  ['ENETUNREACH', 'refused', 502, 'ABPROXY_UPSTREAM_REFUSED'],
  ['UND_ERR_CONNECT_TIMEOUT', 'refused', 502, 'ABPROXY_UPSTREAM_REFUSED'],
  ['ECONNRESET', 'reset', 502, 'ABPROXY_UPSTREAM_RESET'],
  ['EPIPE', 'reset', 502, 'ABPROXY_UPSTREAM_RESET'],
  ['UND_ERR_SOCKET', 'reset', 502, 'ABPROXY_UPSTREAM_RESET'],
  ['UND_ERR_CLOSED', 'reset', 502, 'ABPROXY_UPSTREAM_RESET'],
  ['UND_ERR_DESTROYED', 'reset', 502, 'ABPROXY_UPSTREAM_RESET'],
  ['UND_ERR_HEADERS_TIMEOUT', 'timeout', 504, 'ABPROXY_UPSTREAM_TIMEOUT'],
  ['UND_ERR_BODY_TIMEOUT', 'timeout', 504, 'ABPROXY_UPSTREAM_TIMEOUT'],
  ['ETIMEDOUT', 'timeout', 504, 'ABPROXY_UPSTREAM_TIMEOUT'],
  ['HPE_INVALID_CONSTANT', 'invalid', 502, 'ABPROXY_UPSTREAM_INVALID'],
  ['HPE_INVALID_STATUS', 'invalid', 502, 'ABPROXY_UPSTREAM_INVALID'],
  ['HPE_INVALID_VERSION', 'invalid', 502, 'ABPROXY_UPSTREAM_INVALID'],
  ['HPE_INVALID_HEADER_TOKEN', 'invalid', 502, 'ABPROXY_UPSTREAM_INVALID'],
  ['HPE_INVALID_CONTENT_LENGTH', 'invalid', 502, 'ABPROXY_UPSTREAM_INVALID'],
  ['HPE_UNEXPECTED_CONTENT_LENGTH', 'invalid', 502, 'ABPROXY_UPSTREAM_INVALID'],
  ['HPE_INVALID_CHUNK_SIZE', 'invalid', 502, 'ABPROXY_UPSTREAM_INVALID'],
  ['HPE_INVALID_TRANSFER_ENCODING', 'invalid', 502, 'ABPROXY_UPSTREAM_INVALID'],
  ['HPE_CR_EXPECTED', 'invalid', 502, 'ABPROXY_UPSTREAM_INVALID'],
  ['HPE_LF_EXPECTED', 'invalid', 502, 'ABPROXY_UPSTREAM_INVALID'],
  ['HPE_SOMETHING_NEW', 'invalid', 502, 'ABPROXY_UPSTREAM_INVALID'],
  ['UND_ERR_INFO', 'invalid', 502, 'ABPROXY_UPSTREAM_INVALID'],
  ['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'invalid', 502, 'ABPROXY_UPSTREAM_INVALID'],
  ['UND_ERR_HEADERS_OVERFLOW', 'invalid', 502, 'ABPROXY_UPSTREAM_INVALID'],
  ['DEPTH_ZERO_SELF_SIGNED_CERT', 'refused', 502, 'ABPROXY_UPSTREAM_REFUSED'],
  ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'refused', 502, 'ABPROXY_UPSTREAM_REFUSED'],
  ['CERT_HAS_EXPIRED', 'refused', 502, 'ABPROXY_UPSTREAM_REFUSED'],
  ['ERR_TLS_CERT_ALTNAME_INVALID', 'refused', 502, 'ABPROXY_UPSTREAM_REFUSED'],
  ['ERR_SSL_WRONG_VERSION_NUMBER', 'refused', 502, 'ABPROXY_UPSTREAM_REFUSED'],
  ['', 'other', 502, 'ABPROXY_UPSTREAM_RESET'],
  ['EWHATEVER', 'other', 502, 'ABPROXY_UPSTREAM_RESET'],
];

test('transport-error table, row by row', () => {
  for (const [code, kind, status, proxyCode] of TABLE) {
    const cause = Object.assign(new Error(`boom ${code}`), { code });
    assert.equal(classifyTransportError(cause), kind, code);
    const mapped = upstreamError(cause);
    assert.equal(mapped.status, status, code);
    assert.equal(mapped.code, proxyCode, code);
    assert.equal(mapped.cause, cause, `${code}: cause kept`);
  }
  const message = (code: string) => upstreamError(Object.assign(new Error(code), { code })).message;
  assert.equal(message('ECONNREFUSED'), 'upstream refused the connection');
  assert.equal(message('ENOTFOUND'), 'upstream host name did not resolve', 'a connection never tried is not said to be refused');
  assert.equal(message('EAI_AGAIN'), 'upstream host name could not be resolved (the resolver failed)');
  assert.equal(message('EHOSTUNREACH'), 'upstream host is unreachable');
  assert.equal(message('UND_ERR_CONNECT_TIMEOUT'), 'connecting to the upstream timed out');
  assert.equal(message('UND_ERR_HEADERS_OVERFLOW'), 'upstream response head is over maxHeaderBytes');
  assert.equal(message('SELF_SIGNED_CERT_IN_CHAIN'), 'upstream TLS certificate is not trusted (SELF_SIGNED_CERT_IN_CHAIN): trust its CA with NODE_EXTRA_CA_CERTS');
  assert.equal(message('CERT_NOT_YET_VALID'), 'upstream TLS certificate is outside its validity period (CERT_NOT_YET_VALID)');
  assert.equal(message('ERR_TLS_CERT_ALTNAME_INVALID'), "upstream TLS certificate does not name the target's host");
  assert.equal(message('ERR_SSL_WRONG_VERSION_NUMBER'), 'upstream did not answer in TLS (is the target http:// rather than https://?)');
  const parserError = Object.assign(new Error('Response does not match the HTTP/1.1 protocol (Invalid status code)'), { name: 'HTTPParserError' });
  assert.equal(classifyTransportError(parserError), 'invalid');
  for (const [socketMessage, said] of [['bad response', /a 100 Continue nobody asked for/], ['bad upgrade', /switched protocols without being asked/]] as const) {
    const unasked = Object.assign(new Error(socketMessage), { code: 'UND_ERR_SOCKET' });
    assert.equal(classifyTransportError(unasked), 'invalid', socketMessage);
    assert.match(upstreamError(unasked).message, said);
  }
  assert.equal(classifyTransportError(null), 'other');
  assert.equal(classifyTransportError('string'), 'other');
});

test('every error code has a status, and bodies are JSON {error, code}', () => {
  const expected: Record<string, number> = {
    ABPROXY_BAD_REQUEST: 400,
    ABPROXY_NO_ROUTE: 404,
    ABPROXY_REQUEST_TIMEOUT: 408,
    ABPROXY_BODY_TOO_LARGE: 413,
    ABPROXY_URI_TOO_LONG: 414,
    ABPROXY_EXPECTATION_FAILED: 417,
    ABPROXY_HEADERS_TOO_LARGE: 431,
    ABPROXY_UPSTREAM_REFUSED: 502,
    ABPROXY_UPSTREAM_RESET: 502,
    ABPROXY_UPSTREAM_INVALID: 502,
    ABPROXY_DRAINING: 503,
    ABPROXY_MODEL_UNAVAILABLE: 503,
    ABPROXY_MODEL_BAD_INPUT: 400,
    ABPROXY_MODEL_NOT_FOUND: 404,
    ABPROXY_MODEL_NOT_READY: 503,
    ABPROXY_MODEL_OVERLOADED: 503,
    ABPROXY_MODEL_FAILED: 500,
    ABPROXY_UPSTREAM_TIMEOUT: 504,
  };
  assert.deepEqual({ ...STATUS_OF }, expected);
  const error = new ProxyError('ABPROXY_NO_ROUTE', 'no route matches /x');
  assert.equal(error.status, 404);
  assert.deepEqual(JSON.parse(errorBody(error.code, error.message)), { error: 'no route matches /x', code: 'ABPROXY_NO_ROUTE' });
});

test('a message quotes the first 200 characters of the client\'s input, then an ellipsis', () => {
  assert.equal(quotedInput(''), '');
  assert.equal(quotedInput('/p'.repeat(100)), '/p'.repeat(100), '200 characters are quoted whole');
  assert.equal(quotedInput(`${'/p'.repeat(100)}/`), `${'/p'.repeat(100)}…`);
  assert.equal(quotedInput('a'.repeat(20_000)), `${'a'.repeat(200)}…`);
});
