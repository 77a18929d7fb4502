// gRPC's message framing (PROTOCOL-HTTP2, Length-Prefixed-Message): a compressed flag byte, a 4-byte
// big-endian length, then the message. Splits a captured body into its messages, and frames one. Pure.

/** The body's messages, or undefined when it is not whole frames or a message is compressed (grpc-encoding). */
export function grpcMessages(body: Buffer): Buffer[] | undefined {
  const messages: Buffer[] = [];
  let offset = 0;
  while (offset < body.length) {
    if (offset + 5 > body.length || body[offset] !== 0) return undefined;
    const length = body.readUInt32BE(offset + 1);
    const start = offset + 5;
    if (start + length > body.length) return undefined;
    messages.push(body.subarray(start, start + length));
    offset = start + length;
  }
  return messages;
}

/** One uncompressed message framed for the wire. */
export function frameMessage(message: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}
