// Backend selection (trainer/backend.ts): what 'auto' picks, what a forced backend does when it cannot load.
// The tfjs-node tests assume those packages are absent (as in CI); where one is installed they are skipped.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { isGanwatchError } from '../../protocol/errors.js';
import { initBackend } from '../../trainer/backend.js';

const require = createRequire(import.meta.url);
function installed(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}
const NODE_GPU = '@tensorflow/tfjs-node-gpu';
const NODE = '@tensorflow/tfjs-node';
const noTfjsNode = installed(NODE_GPU) || installed(NODE) ? 'a tfjs-node package is installed here' : false;

async function rejectsAsMissing(promise: Promise<unknown>, backend: string, pkg: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isGanwatchError(err), `expected a GanwatchError, got ${String(err)}`);
    assert.equal(err.code, 'GW_ERR_BACKEND_MISSING');
    assert.match(err.message, new RegExp(`'${backend}'`));
    assert.ok(err.message.includes(`npm install ${pkg}`), `message names no install command: ${err.message}`);
    return true;
  });
}

test(
  'auto picks wasm when tfjs-node is absent and says why each better backend was skipped',
  { skip: noTfjsNode },
  async () => {
    const info = await initBackend('auto');
    assert.equal(info.name, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(info.fallbacks.length, 2);
    assert.match(
      info.fallbacks[0]!,
      /^tensorflow-gpu: .*@tensorflow\/tfjs-node-gpu is not installed.*npm install @tensorflow\/tfjs-node-gpu/,
    );
    assert.match(
      info.fallbacks[1]!,
      /^tensorflow: .*@tensorflow\/tfjs-node is not installed.*npm install @tensorflow\/tfjs-node/,
    );
  },
);

test(
  'forcing tensorflow-gpu without its package throws GW_ERR_BACKEND_MISSING naming the package and CUDA',
  { skip: noTfjsNode },
  async () => {
    await rejectsAsMissing(initBackend('tensorflow-gpu'), 'tensorflow-gpu', NODE_GPU);
    await assert.rejects(initBackend('tensorflow-gpu'), /CUDA 11\.2 and cuDNN 8\.1/);
  },
);

test(
  'forcing tensorflow without its package throws GW_ERR_BACKEND_MISSING naming the package',
  { skip: noTfjsNode },
  async () => {
    await rejectsAsMissing(initBackend('tensorflow'), 'tensorflow', NODE);
  },
);

test('forcing cpu makes the pure-JS cpu backend active', async () => {
  const info = await initBackend('cpu');
  assert.deepEqual(info, { name: 'cpu', device: 'cpu (pure JS)', fallbacks: [] });
  assert.equal(tf.getBackend(), 'cpu');
  assert.deepEqual(Array.from(tf.tidy(() => tf.add([1, 2], [3, 4]).dataSync())), [4, 6]);
});

test('forcing wasm reports SIMD and one thread (threads do not load in Node)', async () => {
  const info = await initBackend('wasm');
  assert.equal(info.name, 'wasm');
  assert.equal(info.device, 'wasm (SIMD, 1 thread)');
  assert.deepEqual(info.fallbacks, []);
});

test('switching between wasm and cpu repeatedly keeps conv filter gradients working on wasm', async () => {
  for (const name of ['wasm', 'cpu', 'wasm', 'cpu', 'wasm'] as const) {
    assert.equal((await initBackend(name)).name, name);
    assert.equal(tf.getBackend(), name);
  }
  const grad = tf.tidy(() => {
    const x = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
    const f = tf.ones([2, 2, 1, 1]) as tf.Tensor4D;
    return Array.from(
      tf
        .grad((w: tf.Tensor) => tf.conv2d(x, w as tf.Tensor4D, 2, 'valid').sum())(f)
        .dataSync(),
    );
  });
  assert.deepEqual(grad, [4, 4, 4, 4]);
});

test('initialising wasm leaves no rethrowing process listeners behind (emscripten adds two)', async () => {
  // Runs in its own process: earlier tests here may already have initialised wasm in this one.
  const { execFileSync } = await import('node:child_process');
  const script = [
    `import { initBackend } from ${JSON.stringify(new URL('../../trainer/backend.ts', import.meta.url).href)};`,
    "await initBackend('wasm');",
    "console.log(process.listenerCount('uncaughtException') + '/' + process.listenerCount('unhandledRejection'));",
  ].join('\n');
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  assert.equal(out.trim().split('\n').pop(), '0/0');
});
