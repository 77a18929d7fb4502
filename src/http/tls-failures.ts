// Why a TLS connection to an https:// upstream failed, said as what to fix: a certificate not trusted
// (OpenSSL's verification codes, as Node reports them), out of its validity, not naming the host, or a
// target that does not speak TLS at all. Each is a connect-phase failure: nothing reached the upstream.

const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
]);
const OUT_OF_VALIDITY = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/** The message for a TLS failure code, or undefined when `code` is not one. */
export function tlsFailureMessage(code: string): string | undefined {
  if (UNTRUSTED.has(code)) return `upstream TLS certificate is not trusted (${code}): trust its CA with NODE_EXTRA_CA_CERTS`;
  if (OUT_OF_VALIDITY.has(code)) return `upstream TLS certificate is outside its validity period (${code})`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return "upstream TLS certificate does not name the target's host";
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER') return 'upstream did not answer in TLS (is the target http:// rather than https://?)';
  return undefined;
}
