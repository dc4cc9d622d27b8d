// `npm run bench -- NAME [NAME...]`: runs the named benchmarks (all when none is named). Each prints its figures next
// to a baseline measured in the same run, as a ratio, because these machines are shared and noisy.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('./', import.meta.url));
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts') // shared parts live in bench/support/
  .map((f) => f.slice(0, -3))
  .sort();

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(`usage: npm run bench -- [NAME ...]\navailable: ${available.join(', ')}`);
  process.exit(0);
}
const unknown = wanted.filter((w) => !available.includes(w));
if (unknown.length) {
  console.error(`unknown benchmark ${unknown.join(', ')}; available: ${available.join(', ')}`);
  process.exit(2);
}
for (const name of wanted.length ? wanted : available) {
  console.log(`\n== ${name} ==`);
  const mod = (await import(`./${name}.ts`)) as { run: (args: string[]) => Promise<void> };
  await mod.run(process.argv.slice(2));
}
