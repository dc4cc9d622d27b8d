// TensorFlow.js models as files on disk (model.json + binary weight shards) without tfjs-node, whose file://
// handler is the only built-in one for Node and which cannot be installed everywhere. Reads both the layers
// and the graph format written by tfjs's model.save and by tensorflowjs_converter.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

/** The model.json of `pathOrDir` (a folder holding model.json, or the file itself; a file:// prefix is allowed). */
export async function resolveModelJson(pathOrDir: string): Promise<string> {
  const p = pathOrDir.startsWith('file://') ? pathOrDir.slice('file://'.length) : pathOrDir;
  const st = await stat(p).catch(() => null);
  if (st === null) throw new Error(`'${p}' does not exist`);
  const file = st.isDirectory() ? path.join(p, 'model.json') : p;
  if (st.isDirectory() && (await stat(file).catch(() => null)) === null)
    throw new Error(`folder '${p}' holds no model.json`);
  return file;
}

/** Reads and checks a model.json: it must be JSON with a modelTopology. */
export async function readModelJson(file: string): Promise<tf.io.ModelJSON> {
  const text = await readFile(file, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`'${file}' is not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (typeof json !== 'object' || json === null || !('modelTopology' in json) || json.modelTopology == null) {
    throw new Error(`'${file}' is not a TensorFlow.js model.json: it has no modelTopology`);
  }
  return json as tf.io.ModelJSON;
}

/** 'graph-model' or 'layers-model', from the format field or, in older files, the topology's shape. */
export function modelFormat(json: tf.io.ModelJSON): 'graph-model' | 'layers-model' {
  if (json.format === 'graph-model' || json.format === 'layers-model') return json.format;
  const topo = json.modelTopology as Record<string, unknown>;
  return Array.isArray(topo['node']) ? 'graph-model' : 'layers-model';
}

/** An IOHandler that loads model.json and its weight shards (paths relative to model.json) with fs. */
export function fileModelLoader(modelJsonFile: string): tf.io.IOHandler {
  const dir = path.dirname(modelJsonFile);
  return {
    load: async () => {
      const json = await readModelJson(modelJsonFile);
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          for (const rel of group.paths) {
            const file = path.join(dir, rel);
            const bytes = await readFile(file).catch(() => {
              throw new Error(`weight file '${file}' listed in model.json is missing`);
            });
            buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
          }
        }
        const specs = tf.io.getWeightSpecs(manifest);
        const data = tf.io.CompositeArrayBuffer.join(buffers);
        const expected = specs.reduce((s, w) => s + weightBytes(w), 0);
        if (!Number.isNaN(expected) && data.byteLength !== expected) {
          throw new Error(`weight files hold ${data.byteLength} bytes, model.json declares ${expected}`);
        }
        return [specs, data];
      });
    },
  };
}

/** An IOHandler that saves a model as `dir`/model.json + `dir`/weights.bin (for model.save). */
export function fileModelSaver(dir: string): tf.io.IOHandler {
  return {
    save: async (artifacts) => {
      await mkdir(dir, { recursive: true });
      const weights =
        artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const json: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as tf.io.ModelJSON['modelTopology'],
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.format !== undefined) json.format = artifacts.format;
      if (artifacts.generatedBy !== undefined) json.generatedBy = artifacts.generatedBy;
      if (artifacts.convertedBy !== undefined) json.convertedBy = artifacts.convertedBy;
      if (artifacts.trainingConfig !== undefined) json.trainingConfig = artifacts.trainingConfig;
      if (artifacts.signature !== undefined) json.signature = artifacts.signature;
      if (artifacts.userDefinedMetadata !== undefined) json.userDefinedMetadata = artifacts.userDefinedMetadata;
      if (artifacts.modelInitializer !== undefined) json.modelInitializer = artifacts.modelInitializer;
      await writeFile(path.join(dir, 'weights.bin'), new Uint8Array(weights));
      await writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
  };
}

const DTYPE_BYTES: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  uint8: 1,
  uint16: 2,
  float16: 2,
  complex64: 8,
};

/** Bytes one manifest entry occupies in the weight data (quantised entries use their storage dtype). */
function weightBytes(w: tf.io.WeightsManifestEntry): number {
  const count = w.shape.reduce((a, b) => a * b, 1);
  const q = w.quantization;
  const per = q !== undefined ? (DTYPE_BYTES[q.dtype] ?? 4) : (DTYPE_BYTES[w.dtype] ?? 4);
  if (w.dtype === 'string') return Number.NaN; // strings are length-prefixed; sizes cannot be checked up front
  return count * per;
}
