// Binds request inputs to a model's inputs (by name, or by position when the names differ but the
// counts match), checks datatype and shape against the model, and converts the data to typed arrays.
// Pure; every rejection is a 400 naming the input and what the model expects.
import { allocate, oipTypeOf, ortTypeOf, writeElement, type OrtType, type TensorData } from './datatypes.js';
import { badInput, type ModelSignature, type RequestInput, type TensorMeta } from './codec.js';

export interface Feed {
  type: OrtType;
  dims: number[];
  data: TensorData;
}

export type Feeds = Record<string, Feed>;

export function bindInputs(inputs: readonly RequestInput[], signature: ModelSignature): Feeds {
  const expected = signature.inputs;
  const byName = new Map(expected.map((meta) => [meta.name, meta]));
  const allNamed = inputs.every((input) => byName.has(input.name));
  let pairs: [RequestInput, TensorMeta][];
  if (allNamed) {
    pairs = inputs.map((input) => [input, byName.get(input.name) as TensorMeta]);
    const seen = new Set<string>();
    for (const input of inputs) {
      if (seen.has(input.name)) throw badInput(`input "${input.name}" is given twice`);
      seen.add(input.name);
    }
    const missing = expected.filter((meta) => !seen.has(meta.name));
    if (missing.length > 0) throw badInput(`missing input${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m.name}"`).join(', ')}; the model expects ${describeInputs(expected)}`);
  } else if (inputs.length === expected.length) {
    pairs = inputs.map((input, i) => [input, expected[i] as TensorMeta]);
  } else {
    const unknown = inputs.find((input) => !byName.has(input.name)) as RequestInput;
    throw badInput(`unknown input "${unknown.name}"; the model expects ${describeInputs(expected)}`);
  }
  const feeds: Feeds = {};
  for (const [input, meta] of pairs) feeds[meta.name] = convert(input, meta);
  return feeds;
}

function convert(input: RequestInput, meta: TensorMeta): Feed {
  const label = input.name === meta.name ? `input "${input.name}"` : `input "${input.name}" (bound by position to "${meta.name}")`;
  const type = ortTypeOf(input.datatype);
  if (type !== meta.type) {
    throw badInput(`${label} has datatype ${input.datatype}; the model expects ${oipTypeOf(meta.type) ?? meta.type}`);
  }
  const shapeFits = input.shape.length === meta.shape.length && meta.shape.every((d, i) => d < 0 || d === input.shape[i]);
  if (!shapeFits) {
    throw badInput(`${label} has shape [${input.shape.join(', ')}]; the model expects [${meta.shape.join(', ')}] (-1 is any size)`);
  }
  const data = allocate(type, input.values.length);
  for (let i = 0; i < input.values.length; i++) {
    const problem = writeElement(type, data, i, input.values[i]);
    if (problem) throw badInput(`${label} element ${i}: ${problem}`);
  }
  return { type, dims: input.shape, data };
}

/** The outputs to return, in order: the requested ones (each must exist), or all of the model's. */
export function resolveOutputs(requested: readonly string[] | undefined, signature: ModelSignature): string[] {
  const names = signature.outputs.map((o) => o.name);
  if (requested === undefined || requested.length === 0) return names;
  for (const name of requested) {
    if (!names.includes(name)) throw badInput(`unknown output "${name}"; the model's outputs are ${names.map((n) => `"${n}"`).join(', ')}`);
  }
  return [...requested];
}

function describeInputs(inputs: readonly TensorMeta[]): string {
  return inputs.map((m) => `"${m.name}" ${oipTypeOf(m.type) ?? m.type} [${m.shape.join(', ')}]`).join(', ');
}
