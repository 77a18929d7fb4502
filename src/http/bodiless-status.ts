// Statuses whose response ends at its head whatever its Content-Length says (RFC 9112 §6.3): 204, and 304,
// whose Content-Length may give the size of the representation it stands for (RFC 9110 §8.6). undici 7
// fails such an answer that carries a non-zero Content-Length as a length mismatch after its head, so the
// relays and the shadow collector treat it as complete at its head.
export function endsAtHead(statusCode: number): boolean {
  return statusCode === 204 || statusCode === 304;
}
