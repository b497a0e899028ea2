/**
 * moto server (Python, installed on this machine and CI's) as a local S3 for the backfill's tests:
 * started on a free loopback port by the test that needs it, stopped by it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { freePort } from '../../scripts/local/dynamodb-local';

export interface Moto {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * With `unauthenticatedActions`, moto checks every request's AWS Signature V4 (and IAM policies) after the first
 * `unauthenticatedActions` requests (INITIAL_NO_AUTH_ACTION_COUNT), which set up a user and its key.
 */
export async function startMoto(options: { unauthenticatedActions?: number } = {}): Promise<Moto> {
  const port = await freePort();
  const child: ChildProcess = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    ...(options.unauthenticatedActions === undefined
      ? {}
      : { env: { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: String(options.unauthenticatedActions) } }),
    stdio: 'ignore',
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto server exited with ${child.exitCode}`);
    try {
      const response = await fetch(`${endpoint}/moto-api/`);
      if (response.ok || response.status < 500) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error('moto server did not start within 30 s');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    endpoint,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}
