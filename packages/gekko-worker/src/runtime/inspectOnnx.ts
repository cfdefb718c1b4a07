/**
 * Reads the graph inputs and outputs of an ONNX file without creating a session: a small protobuf
 * reader over the fields of onnx.proto3 that carry them (ModelProto.graph → GraphProto.input/output →
 * ValueInfoProto → TypeProto.tensor_type → TensorShapeProto.dim).
 */

/** An input or output of an ONNX graph; a dimension is a number, or a name (`batch`) when symbolic. */
export interface OnnxTensorInfo {
  name: string;
  /** ONNX element type name, e.g. `float32`; `unknown(N)` for types not listed. */
  dtype: string;
  shape: Array<number | string>;
}

/** The graph signature of an ONNX model. */
export interface OnnxSignature {
  inputs: OnnxTensorInfo[];
  outputs: OnnxTensorInfo[];
  opsetVersion?: number;
  producerName?: string;
}

const ELEMENT_TYPES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  16: 'bfloat16',
};

interface Field {
  field: number;
  wire: number;
  value: number | Uint8Array;
}

function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (pos >= buf.length) throw new Error('truncated varint');
      const byte = buf[pos++];
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return result;
      scale *= 128;
    }
  };
  while (pos < buf.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) {
      yield { field, wire, value: varint() };
    } else if (wire === 2) {
      const length = varint();
      if (pos + length > buf.length) throw new Error('truncated field');
      yield { field, wire, value: buf.subarray(pos, pos + length) };
      pos += length;
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else {
      throw new Error(`unsupported protobuf wire type ${wire}`);
    }
  }
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function valueInfo(buf: Uint8Array): OnnxTensorInfo {
  const info: OnnxTensorInfo = { name: '', dtype: 'unknown', shape: [] };
  for (const f of fields(buf)) {
    if (f.field === 1 && f.wire === 2) info.name = text(f.value as Uint8Array);
    if (f.field === 2 && f.wire === 2) {
      for (const t of fields(f.value as Uint8Array)) {
        if (t.field !== 1 || t.wire !== 2) continue; // tensor_type
        for (const tt of fields(t.value as Uint8Array)) {
          if (tt.field === 1 && tt.wire === 0) {
            const code = tt.value as number;
            info.dtype = ELEMENT_TYPES[code] ?? `unknown(${code})`;
          }
          if (tt.field === 2 && tt.wire === 2) {
            for (const d of fields(tt.value as Uint8Array)) {
              if (d.field !== 1 || d.wire !== 2) continue;
              let dim: number | string = '?';
              for (const v of fields(d.value as Uint8Array)) {
                if (v.field === 1 && v.wire === 0) dim = v.value as number;
                if (v.field === 2 && v.wire === 2)
                  dim = text(v.value as Uint8Array);
              }
              info.shape.push(dim);
            }
          }
        }
      }
    }
  }
  return info;
}

/** Reads an ONNX model's graph inputs (initializers excluded) and outputs. Throws on a file that is not ONNX. */
export function inspectOnnx(bytes: Uint8Array): OnnxSignature {
  let graph: Uint8Array | undefined;
  const signature: OnnxSignature = { inputs: [], outputs: [] };
  for (const f of fields(bytes)) {
    if (f.field === 7 && f.wire === 2) graph = f.value as Uint8Array;
    if (f.field === 2 && f.wire === 2)
      signature.producerName = text(f.value as Uint8Array);
    if (f.field === 8 && f.wire === 2) {
      for (const o of fields(f.value as Uint8Array)) {
        if (o.field === 2 && o.wire === 0) {
          signature.opsetVersion = Math.max(
            signature.opsetVersion ?? 0,
            o.value as number,
          );
        }
      }
    }
  }
  if (!graph) {
    throw new Error('not an ONNX model: it has no graph');
  }
  const initializers = new Set<string>();
  const inputs: OnnxTensorInfo[] = [];
  for (const f of fields(graph)) {
    if (f.wire !== 2) continue;
    if (f.field === 5) {
      for (const t of fields(f.value as Uint8Array)) {
        if (t.field === 8 && t.wire === 2)
          initializers.add(text(t.value as Uint8Array));
      }
    }
    if (f.field === 11) inputs.push(valueInfo(f.value as Uint8Array));
    if (f.field === 12)
      signature.outputs.push(valueInfo(f.value as Uint8Array));
  }
  signature.inputs = inputs.filter(i => !initializers.has(i.name));
  if (signature.inputs.length === 0 || signature.outputs.length === 0) {
    throw new Error('not an ONNX model: its graph has no inputs or outputs');
  }
  return signature;
}
