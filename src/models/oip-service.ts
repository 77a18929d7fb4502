// The Open Inference Protocol operations on local models, transport-free: server and model metadata,
// readiness and inference, each answered as a status and a body (JSON, or for inference the binary tensor
// extension when the request asks for binary outputs). Never rejects: every failure becomes an
// `{"error", "code"}` answer (400 bad input, 404 unknown model, 503 not ready, 500 run failed, 504 a run
// longer than limits.upstreamTimeoutMs, whose answer is then let go as a remote upstream's would be).
import { errorBody, ProxyError } from '../http/errors.js';
import type { AnswerFields } from '../shadow/answer.js';
import { bindInputs, resolveOutputs } from './binding.js';
import { encodeInferResponse, modelMetadata, parseInferRequest } from './codec.js';
import type { LocalModel } from './local-model.js';
import type { ModelHost } from './model-host.js';

export interface OipAnswer {
  status: number;
  body: Buffer;
  /** How to read the body: its content type, and Inference-Header-Content-Length when binary tensor data follows the JSON. */
  fields: AnswerFields;
}

const JSON_FIELDS: AnswerFields = { contentType: 'application/json' };

/** The extensions of the protocol these endpoints implement (server metadata). */
const EXTENSIONS = ['binary_tensor_data'];

const SERVER_NAME = 'abproxy';
const SERVER_VERSION = '0.1.0';

export class OipService {
  /** `runTimeoutMs`: the live bound on one run (limits.upstreamTimeoutMs). */
  constructor(
    private readonly host: ModelHost,
    private readonly runTimeoutMs: () => number,
  ) {}

  serverMetadata(): OipAnswer {
    return json(200, { name: SERVER_NAME, version: SERVER_VERSION, extensions: EXTENSIONS });
  }

  serverLive(): OipAnswer {
    return json(200, { live: true });
  }

  serverReady(): OipAnswer {
    const waiting = this.host.notReady();
    if (waiting.length === 0) return json(200, { ready: true });
    return json(503, { ready: false, error: `models not ready: ${waiting.join(', ')}` });
  }

  modelMetadata(name: string, version: string | undefined): OipAnswer {
    return this.#answer(() => {
      const model = this.#readyModel(name, version);
      return json(200, modelMetadata(model.name, model.config.version, model.signature ?? { inputs: [], outputs: [] }));
    });
  }

  modelReady(name: string, version: string | undefined): OipAnswer {
    return this.#answer(() => {
      const model = this.#model(name, version);
      return json(model.ready ? 200 : 503, { name, ready: model.ready });
    });
  }

  /**
   * Runs one infer request body; `fallbackId` answers as `id` when the request has none, `jsonLength` is
   * the body's Inference-Header-Content-Length under the binary tensor extension.
   */
  async infer(name: string, version: string | undefined, body: Buffer, options: { fallbackId?: string | undefined; jsonLength?: number | undefined } = {}): Promise<OipAnswer> {
    try {
      const model = this.#readyModel(name, version);
      const request = parseInferRequest(body, options.jsonLength);
      const signature = model.signature ?? { inputs: [], outputs: [] };
      const feeds = bindInputs(request.inputs, signature);
      const outputNames = resolveOutputs(request.outputs, signature);
      const result = await withinTimeout(model.infer(feeds), this.runTimeoutMs(), model.name);
      const { binaryOutputs } = request;
      const { body: answer, jsonLength } = encodeInferResponse({ modelName: model.name, modelVersion: model.config.version, id: request.id ?? options.fallbackId, outputNames, binaryOutputs }, result.outputs);
      const fields = jsonLength === undefined ? JSON_FIELDS : { contentType: 'application/octet-stream', inferenceHeader: String(jsonLength) };
      return { status: 200, body: answer, fields };
    } catch (error) {
      return errorAnswer(error);
    }
  }

  #model(name: string, version: string | undefined): LocalModel {
    const model = this.host.get(name);
    if (!model) throw new ProxyError('ABPROXY_MODEL_NOT_FOUND', `model "${name}" does not exist`);
    if (version !== undefined && version !== model.config.version) {
      throw new ProxyError('ABPROXY_MODEL_NOT_FOUND', `model "${name}" has no version "${version}"${model.config.version ? ` (it serves "${model.config.version}")` : ''}`);
    }
    return model;
  }

  #readyModel(name: string, version: string | undefined): LocalModel {
    const model = this.#model(name, version);
    if (!model.ready) throw new ProxyError('ABPROXY_MODEL_NOT_READY', `model "${name}" is not ready`);
    return model;
  }

  #answer(build: () => OipAnswer): OipAnswer {
    try {
      return build();
    } catch (error) {
      return errorAnswer(error);
    }
  }
}

function json(status: number, value: unknown): OipAnswer {
  return { status, body: Buffer.from(JSON.stringify(value)), fields: JSON_FIELDS };
}

/** The `{"error", "code"}` answer to a failure (a ProxyError keeps its status; anything else is a failed model run, 500). */
export function errorAnswer(error: unknown): OipAnswer {
  const known = error instanceof ProxyError ? error : new ProxyError('ABPROXY_MODEL_FAILED', `model run failed: ${(error as Error).message ?? String(error)}`);
  return { status: known.status, body: Buffer.from(errorBody(known.code, known.message)), fields: JSON_FIELDS };
}

/** The run's result, or a 504 error once timeoutMs pass (the run goes on in its worker; its result is let go). */
async function withinTimeout<T>(run: Promise<T>, timeoutMs: number, model: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProxyError('ABPROXY_UPSTREAM_TIMEOUT', `model "${model}" did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([run, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
