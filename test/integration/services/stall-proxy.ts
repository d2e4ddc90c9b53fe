/**
 * An HTTP proxy on loopback in front of moto that can leave chosen SQS calls unanswered: it reads the request and
 * never answers it, keeping the connection open, as a half-open connection does. Calls are told apart by their
 * `X-Amz-Target` (`AmazonSQS.<Operation>`, the SDK's JSON protocol).
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { HOST } from './index';

/** A running proxy. */
export interface StallProxy {
  /** `http://127.0.0.1:<port>`: the endpoint of the client under test. */
  readonly endpoint: string;
  /** Calls left unanswered so far, by operation. */
  readonly stalled: Map<string, number>;
  /** Calls forwarded so far, by operation. */
  readonly forwarded: Map<string, number>;
  /** Stops the proxy, closing every connection (stalled ones included). */
  close(): Promise<void>;
}

/**
 * Starts a proxy to `target`.
 *
 * @param target - moto's endpoint
 * @param stall - whether to leave this call unanswered (`operation` without the `AmazonSQS.` prefix; `count` is the
 *   number of calls of that operation seen before this one)
 */
export async function startStallProxy(target: string, stall: (operation: string, count: number) => boolean): Promise<StallProxy> {
  const stalled = new Map<string, number>();
  const forwarded = new Map<string, number>();
  const seen = new Map<string, number>();
  const held = new Set<ServerResponse>();
  const to = new URL(target);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const operation = String(req.headers['x-amz-target'] ?? '').replace(/^AmazonSQS\./, '') || 'unknown';
      const count = seen.get(operation) ?? 0;
      seen.set(operation, count + 1);
      if (stall(operation, count)) {
        stalled.set(operation, (stalled.get(operation) ?? 0) + 1);
        held.add(res);
        res.on('close', () => held.delete(res));
        return;
      }
      forwarded.set(operation, (forwarded.get(operation) ?? 0) + 1);
      const upstream = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: { ...req.headers, host: to.host } }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => { res.destroy(); });
      upstream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    endpoint: `http://${HOST}:${port}`,
    stalled,
    forwarded,
    close: () => new Promise<void>((resolve) => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
