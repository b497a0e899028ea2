/**
 * One HTTP request to Lambda's local Runtime or Extensions API, on node:http (global fetch would load
 * undici on the cold path). No timeout: `event/next` and `invocation/next` block for as long as the
 * environment waits (frozen in between), as the API docs require. The after-response extension
 * speaks it, and so does the test runtime client (test/support/lambda-runtime-client.ts).
 */
import { type Agent, type IncomingHttpHeaders, request } from 'node:http';

export interface RuntimeApiAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RuntimeApiRequest {
  /** host:port (AWS_LAMBDA_RUNTIME_API). */
  runtimeApi: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | undefined;
  /** `false`: a fresh connection for this request; an Agent: its (keep-alive) sockets. */
  agent: Agent | false;
}

export function callRuntimeApi(call: RuntimeApiRequest): Promise<RuntimeApiAnswer> {
  const { runtimeApi, method, path, headers = {}, body, agent } = call;
  return new Promise((resolve, reject) => {
    const req = request(`http://${runtimeApi}${path}`, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}
