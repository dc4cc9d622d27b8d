// The page a browser gets instead of the dashboard when the server has a read token and the address carries none (or a
// wrong one): a form that asks for it. No script and no inline style, so the content security policy needs no exception.
import type { FastifyRequest } from 'fastify';
import { API_PREFIX } from '../protocol/index.js';

/** A browser navigating to the dashboard (not an API client, not a script or stylesheet the page loads). */
export function wantsTokenPage(req: FastifyRequest): boolean {
  if (req.method !== 'GET') return false;
  const path = req.url.split('?')[0] ?? '';
  if (path !== '/' && path !== '/index.html') return false;
  const accept = req.headers.accept;
  return typeof accept === 'string' && accept.includes('text/html');
}

/** `refused`: the address carried a token and it was wrong. */
export function tokenPage(refused: boolean): string {
  const why = refused
    ? '<p role="alert"><strong>That token was refused.</strong> Check it and try again.</p>'
    : '<p>This ganwatch server was started with <code>--read-token</code>: the dashboard needs that token (the write token works too).</p>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Token needed · ganwatch</title>
<link rel="icon" href="data:,">
</head>
<body>
<main>
<h1>ganwatch: token needed</h1>
${why}
<form method="get" action="/">
<label for="token">Read token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Open the dashboard</button>
</form>
<p>The address then holds the token (<code>/?token=…</code>): bookmark it to come back. Error code:
<code>GW_ERR_UNAUTHORIZED</code>. The API is at <code>${API_PREFIX}</code> (token as <code>Authorization: Bearer TOKEN</code>).</p>
</main>
</body>
</html>
`;
}
