// Test support: a local webhook receiver that records every JSON body POSTed to it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export class WebhookReceiver {
  readonly bodies: any[] = [];
  private server!: Server;

  /** Listens on a free port; resolves with the URL to give as a webhook. */
  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        this.bodies.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  /** The bodies for one rule, as `event rule` strings, in arrival order. */
  events(rule: string): string[] {
    return this.bodies.filter((b) => b.alert.rule === rule).map((b) => `${b.event} ${b.alert.rule}`);
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}
