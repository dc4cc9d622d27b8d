// Test support for the Python client's tests: decodes PNG files with pngjs (a decoder independent of the client) and
// prints, per file, one JSON line {"width", "height", "rgba"} with the pixels as base64 RGBA.
// Usage: node --import tsx test/support/decode-png.ts FILE...
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';

for (const file of process.argv.slice(2)) {
  const png = PNG.sync.read(readFileSync(file));
  const rgba = Buffer.from(png.data).toString('base64');
  console.log(JSON.stringify({ width: png.width, height: png.height, rgba }));
}
