// Following the server's address while training (`serverFile` of connect(), the trainer's `--server-file PATH`): the
// file holds the server URL (or several, comma-separated), and when it changes (checked every second) or the process
// gets SIGHUP, the client is pointed at the new address and resends everything not yet acknowledged there. This is how
// a user moves a running trainer to a server restarted on another port or host:  echo http://127.0.0.1:9090 > server.url
// (or edit it, then  kill -HUP <trainer pid>).
import { readFileSync, unwatchFile, watchFile } from 'node:fs';

/**
 * The server URL in a server file: the first line that is not empty or a `#` comment, either the bare URL or an env
 * line `GANWATCH_SERVER=URL` (so a compose/env file can be used as is). Null when the file is missing or holds none.
 */
export function readServerFile(path: string): string | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?GANWATCH_SERVER\s*=\s*["']?([^"'\s]+)["']?$/.exec(line);
    if (m) return m[1]!;
    if (/^https?:\/\//.test(line)) return line.replace(/\/+$/, '');
  }
  return null;
}

export interface ServerFileWatch {
  /** Reads the file now (as SIGHUP does). */
  check(): void;
  stop(): void;
}

/**
 * Calls `onChange(url)` whenever the URL in `path` differs from the last one seen (starting from `current`), on every
 * poll of the file (each `intervalMs`) and on SIGHUP. A file that is missing or holds no URL changes nothing.
 */
export function watchServerFile(
  path: string,
  current: string,
  onChange: (url: string) => void,
  intervalMs = 1000,
): ServerFileWatch {
  let last = current.replace(/\/+$/, '');
  const check = (): void => {
    const url = readServerFile(path);
    if (url === null || url === last) return;
    last = url;
    onChange(url);
  };
  const onPoll = (): void => check();
  watchFile(path, { interval: intervalMs, persistent: false }, onPoll);
  process.on('SIGHUP', check);
  return {
    check,
    stop() {
      unwatchFile(path, onPoll);
      process.off('SIGHUP', check);
    },
  };
}
