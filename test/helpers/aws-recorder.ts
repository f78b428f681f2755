// An AWS endpoint of its own for one set of tnth processes, in front of the stack's emulator: it
// forwards every request as it came and notes the Query-protocol calls (Auto Scaling, EC2) among
// them. The emulator's call log says what was called, never by whom; with one recorder per cluster,
// a test with several clusters' processes can tell which cluster made a call.
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { emulatorUrl } from './aws.js';

export interface RecordedCall {
  /** ISO 8601, when the request reached the recorder. */
  time: string;
  /** The API action, e.g. `CompleteLifecycleAction`. */
  action: string;
  /** The request's parameters, e.g. `LifecycleActionToken`, `InstanceIds.1`. */
  params: Record<string, string>;
}

export interface AwsRecorder {
  /** For AWS_ENDPOINT_URL. */
  url: string;
  calls: RecordedCall[];
  close(): Promise<void>;
}

export async function awsRecorder(): Promise<AwsRecorder> {
  const upstream = new URL(emulatorUrl());
  const calls: RecordedCall[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const call = queryCall(req.headers, body);
      if (call) calls.push(call);
      const forwarded = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forwarded.on('error', (error) => res.destroy(error));
      forwarded.end(body);
    });
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((closed) => {
        server.close(() => closed());
        server.closeAllConnections();
      }),
  };
}

/** A Query-protocol request (a form body with `Action`); SQS's JSON requests are not noted. */
function queryCall(headers: IncomingHttpHeaders, body: Buffer): RecordedCall | undefined {
  if (!headers['content-type']?.startsWith('application/x-www-form-urlencoded')) return undefined;
  const params = Object.fromEntries(new URLSearchParams(body.toString('utf8')));
  const action = params.Action;
  return action ? { time: new Date().toISOString(), action, params } : undefined;
}
