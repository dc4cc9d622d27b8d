#!/usr/bin/env node
// The `ganwatch` command (package.json "bin"): runs the TypeScript CLI, server/cli.ts, through tsx in this process.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../server/cli.ts');
await main(process.argv.slice(2));
