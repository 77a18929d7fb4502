// A minimal ONNX ModelProto writer (protobuf wire format by hand), enough to build small graphs from
// TypeScript: tensors, value infos with dynamic dims, nodes with attributes. Never reads models.
// Field numbers follow onnx/onnx.proto (IR version 8).

/** ONNX TensorProto.DataType numbers. */
export const ELEM = { float: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, string: 8, bool: 9, float16: 10, float64: 11, uint32: 12, uint64: 13 } as const;
export type ElemName = keyof typeof ELEM;

class Writer {
  readonly parts: Buffer[] = [];

  varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    const bytes: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      bytes.push(byte);
    } while (v !== 0n);
    this.parts.push(Buffer.from(bytes));
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, value: number | bigint): void {
    this.tag(field, 0);
    this.varint(value);
  }

  float(field: number, value: number): void {
    this.tag(field, 5);
    const b = Buffer.alloc(4);
    b.writeFloatLE(value);
    this.parts.push(b);
  }

  bytes(field: number, value: Buffer | string): void {
    const data = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    this.tag(field, 2);
    this.varint(data.length);
    this.parts.push(data);
  }

  message(field: number, build: (w: Writer) => void): void {
    const inner = new Writer();
    build(inner);
    this.bytes(field, inner.finish());
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export interface TensorSpec {
  name: string;
  elem: ElemName;
  dims: number[];
  /** float32/int64 values, written as raw little-endian data */
  values: ArrayLike<number>;
}

export interface ValueSpec {
  name: string;
  elem: ElemName;
  /** numbers are fixed sizes; strings are symbolic (dynamic) dims */
  shape: (number | string)[];
}

export type AttrValue = { f: number } | { i: number } | { s: string } | { ints: number[] } | { floats: number[] } | { t: TensorSpec };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  domain?: string;
  attrs?: Record<string, AttrValue>;
}

export interface GraphSpec {
  name: string;
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  initializers: TensorSpec[];
  nodes: NodeSpec[];
  /** opset versions by domain ("" is ai.onnx) */
  opsets: Record<string, number>;
  producer: string;
  docString?: string;
}

function writeTensor(w: Writer, t: TensorSpec): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, ELEM[t.elem]);
  w.bytes(8, t.name);
  let raw: Buffer;
  if (t.elem === 'float') raw = Buffer.from(Float32Array.from(t.values).buffer);
  else if (t.elem === 'int64') raw = Buffer.from(BigInt64Array.from(Array.from(t.values, (v) => BigInt(v))).buffer);
  else if (t.elem === 'float64') raw = Buffer.from(Float64Array.from(t.values).buffer);
  else if (t.elem === 'int32') raw = Buffer.from(Int32Array.from(t.values).buffer);
  else throw new Error(`initializer type ${t.elem} is not supported by this writer`);
  w.bytes(9, raw);
}

function writeValueInfo(w: Writer, v: ValueSpec): void {
  w.bytes(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, ELEM[v.elem]);
      tensor.message(2, (shape) => {
        for (const dim of v.shape) shape.message(1, (d) => (typeof dim === 'number' ? d.int(1, dim) : d.bytes(2, dim)));
      });
    }),
  );
}

function writeAttr(w: Writer, name: string, value: AttrValue): void {
  w.bytes(1, name);
  // AttributeType: FLOAT 1, INT 2, STRING 3, TENSOR 4, FLOATS 6, INTS 7
  if ('f' in value) {
    w.float(2, value.f);
    w.int(20, 1);
  } else if ('i' in value) {
    w.int(3, value.i);
    w.int(20, 2);
  } else if ('s' in value) {
    w.bytes(4, value.s);
    w.int(20, 3);
  } else if ('t' in value) {
    w.message(5, (t) => writeTensor(t, value.t));
    w.int(20, 4);
  } else if ('floats' in value) {
    for (const f of value.floats) w.float(7, f);
    w.int(20, 6);
  } else {
    for (const i of value.ints) w.int(8, i);
    w.int(20, 7);
  }
}

/** Serializes a graph as an ONNX ModelProto. */
export function encodeModel(spec: GraphSpec): Buffer {
  const w = new Writer();
  w.int(1, 8); // ir_version
  w.bytes(2, spec.producer);
  w.bytes(3, '1');
  if (spec.docString) w.bytes(6, spec.docString);
  w.message(7, (g) => {
    spec.nodes.forEach((node, index) =>
      g.message(1, (n) => {
        for (const input of node.inputs) n.bytes(1, input);
        for (const output of node.outputs) n.bytes(2, output);
        n.bytes(3, `${node.op.toLowerCase()}_${index}`);
        n.bytes(4, node.op);
        for (const [name, value] of Object.entries(node.attrs ?? {})) n.message(5, (a) => writeAttr(a, name, value));
        if (node.domain) n.bytes(7, node.domain);
      }),
    );
    g.bytes(2, spec.name);
    for (const t of spec.initializers) g.message(5, (tw) => writeTensor(tw, t));
    for (const v of spec.inputs) g.message(11, (vw) => writeValueInfo(vw, v));
    for (const v of spec.outputs) g.message(12, (vw) => writeValueInfo(vw, v));
  });
  for (const [domain, version] of Object.entries(spec.opsets)) {
    w.message(8, (o) => {
      if (domain) o.bytes(1, domain);
      o.int(2, version);
    });
  }
  return w.finish();
}
