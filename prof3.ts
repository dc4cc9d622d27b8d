import { runIngestClient } from './bench/ingest.js';
const base = process.argv[2]!;
const id = (await (await fetch(`${base}/api/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x' }) })).json()).id;
const ms = await runIngestClient(`${base.replace('http', 'ws')}/api/v1/ingest?run=${id}`, '10', 60000, 1000, 4);
console.log('rate', Math.round(600000 / (ms / 1000)));
