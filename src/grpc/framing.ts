// gRPC's message framing (PROTOCOL-HTTP2, Length-Prefixed-Message): a compressed flag byte, a 4-byte
// big-endian length, then the message; a message flagged compressed is in the call's grpc-encoding
// (gzip or deflate here, as grpc-js, Triton and KServe send them). Splits a captured body into its
// messages, uncompressed, and frames one. Pure.
import { decodedBody, MAX_DECODED_BYTES } from '../http/content-decoding.js';

/** The compressions whose messages can be read. */
const COMPRESSIONS: readonly string[] = ['gzip', 'deflate'];

/** grpc-encoding values whose messages can be read (grpc-accept-encoding of a server that reads them). */
export const READABLE_GRPC_ENCODINGS = ['identity', ...COMPRESSIONS].join(',');

/** A call's grpc-encoding as compared (trimmed, lower case; identity when it has none). */
export function grpcCoding(encoding: string | undefined): string {
  return encoding?.trim().toLowerCase() || 'identity';
}

/** True when messages in this grpc-encoding can be read. */
export function readsGrpcEncoding(encoding: string | undefined): boolean {
  const coding = grpcCoding(encoding);
  return coding === 'identity' || COMPRESSIONS.includes(coding);
}

/**
 * The body's messages, those flagged compressed decoded by `encoding` (the call's grpc-encoding), each
 * at most maxBytes once decoded; undefined when the body is not whole frames or a message cannot be read.
 */
export function grpcMessages(body: Buffer, encoding?: string, maxBytes = MAX_DECODED_BYTES): Buffer[] | undefined {
  const messages: Buffer[] = [];
  let offset = 0;
  while (offset < body.length) {
    if (offset + 5 > body.length) return undefined;
    const length = body.readUInt32BE(offset + 1);
    const start = offset + 5;
    if (start + length > body.length) return undefined;
    const message = framedMessage(body[offset], body.subarray(start, start + length), encoding, maxBytes);
    if (!message) return undefined;
    messages.push(message);
    offset = start + length;
  }
  return messages;
}

/** The body framed again with every message uncompressed (the body itself when none was compressed); undefined when a message cannot be read. */
export function uncompressedBody(body: Buffer, encoding: string | undefined, maxBytes = MAX_DECODED_BYTES): Buffer | undefined {
  const messages = grpcMessages(body, encoding, maxBytes);
  if (!messages) return undefined;
  let compressed = false;
  // The framing is whole (grpcMessages read it): each frame's flag byte is at its offset.
  for (let offset = 0; offset < body.length; offset += 5 + body.readUInt32BE(offset + 1)) compressed ||= body[offset] !== 0;
  return compressed ? Buffer.concat(messages.map(frameMessage)) : body;
}

/** A message as sent before compression, from its frame's flag byte and bytes; undefined when it cannot be read. */
export function framedMessage(flag: number | undefined, bytes: Buffer, encoding: string | undefined, maxBytes = MAX_DECODED_BYTES): Buffer | undefined {
  if (flag === 0) return bytes.length <= maxBytes ? bytes : undefined;
  const coding = grpcCoding(encoding);
  // A compressed flag needs an encoding that compresses (PROTOCOL-HTTP2: identity with the flag set is an error).
  if (flag !== 1 || !COMPRESSIONS.includes(coding)) return undefined;
  return decodedBody(bytes, coding, maxBytes);
}

/** Reads frames out of a stream's chunks as they arrive: each frame once whole, its flag byte and bytes. */
export class FrameReader {
  #held: Buffer = Buffer.alloc(0);

  /** `maxBytes`: the longest message a frame may announce. */
  constructor(private readonly maxBytes: number) {}

  /** The frames `chunk` completes; undefined when a frame announces more than maxBytes. */
  push(chunk: Buffer): { flag: number; bytes: Buffer }[] | undefined {
    let data = this.#held.length > 0 ? Buffer.concat([this.#held, chunk]) : chunk;
    const frames: { flag: number; bytes: Buffer }[] = [];
    while (data.length >= 5) {
      const length = data.readUInt32BE(1);
      if (length > this.maxBytes) return undefined;
      if (data.length < 5 + length) break;
      frames.push({ flag: data[0] ?? 0, bytes: data.subarray(5, 5 + length) });
      data = data.subarray(5 + length);
    }
    this.#held = data;
    return frames;
  }

  /** True when the chunks so far end inside a frame. */
  get partial(): boolean {
    return this.#held.length > 0;
  }
}

/** A call's grpc-encoding from its header field (the first, if sent more than once). */
export function grpcEncodingOf(field: string | string[] | undefined): string | undefined {
  return Array.isArray(field) ? field[0] : field;
}

/** One uncompressed message framed for the wire. */
export function frameMessage(message: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}
