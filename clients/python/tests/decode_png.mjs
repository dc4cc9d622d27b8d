// Test support for the Python tests: decodes PNG files with pngjs (an independent decoder) and prints, per file, one
// JSON line {"width", "height", "rgba"} with the pixels as base64 RGBA, so a test can compare what ganwatch encoded.
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';

for (const file of process.argv.slice(2)) {
  const png = PNG.sync.read(readFileSync(file));
  console.log(JSON.stringify({ width: png.width, height: png.height, rgba: Buffer.from(png.data).toString('base64') }));
}
