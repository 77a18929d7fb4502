// A `model:NAME` variant answering a REST request over HTTP/2 (h2c or TLS) in-process: the body read
// whole within maxBodyBytes and decoded from its Content-Encoding, the Open Inference Protocol endpoint it
// stands for answered as over HTTP/1.1 (models/oip-http.ts: infer, ready, metadata; a wrong method is 405
// with Allow), the answer sent with its length and Inference-Header-Content-Length (its stream reset when
// the client takes nothing of it for sendTimeoutMs), and the exchange ended with it for shadows.
import { constants } from 'node:http2';
import type { OipAnswer } from '../models/oip-service.js';
import { INFERENCE_HEADER } from '../http/inference-header.js';
import { h2Fields } from '../http/h2-fields.js';
import type { ProxyError } from '../http/errors.js';
import { decodedRequestBody, restOfStream } from './body.js';
import type { ModelCall } from './http2-model.js';
import { watchEndedStream } from './send-timeout.js';

/** What the variant's model answers a REST request (its path, method, whole body and Inference-Header-Content-Length). */
export type RestAnswer = (model: string, path: string, method: string, body: Buffer | undefined, inferenceHeader: string | string[] | undefined, requestId: string) => Promise<{ answer: OipAnswer; allow?: string }>;

export function serveRest({ stream, hasBody, method, inferenceHeader, contentEncoding, exchange, model, chunks, extraHeaders, shadows, finish }: ModelCall, answerRest: RestAnswer): void {
  const { maxBodyBytes } = exchange.runtime.config.limits;
  const whole = exchange.body ? Promise.resolve(exchange.body) : hasBody ? restOfStream(stream, chunks, maxBodyBytes) : Promise.resolve(undefined);
  whole
    .then((body) => {
      shadows?.bodyEnded(body);
      return answerRest(model, exchange.target.path, method, body && decodedRequestBody(body, contentEncoding, maxBodyBytes), inferenceHeader, exchange.requestId);
    })
    .then(
      ({ answer, allow }) => {
        const { status, body, fields } = answer;
        if (!stream.destroyed) {
          const headers = h2Fields(allow ? [...extraHeaders, 'allow', allow] : extraHeaders);
          headers[constants.HTTP2_HEADER_STATUS] = status;
          headers['content-type'] = fields.contentType ?? 'application/json';
          headers['content-length'] = body.length;
          if (fields.inferenceHeader !== undefined) headers[INFERENCE_HEADER] = fields.inferenceHeader;
          stream.respond(headers);
          stream.end(body);
          watchEndedStream(stream, exchange.runtime.config.limits.sendTimeoutMs, exchange.route.name);
        }
        finish({ status, headersSent: true, body, bodyTruncated: false, fields });
      },
      (error: ProxyError) => finish({ status: error.status, headersSent: false, error }),
    );
}
