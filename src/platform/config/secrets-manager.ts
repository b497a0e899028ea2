/**
 * Secrets Manager's `GetSecretValue`, the one call Crosswalk makes to it, as a signed HTTPS request
 * (AWS Signature V4, with the signer the DynamoDB client already bundles) instead of the SDK's
 * Secrets Manager client: about 13 KB less in every bundle that reads a secret, and less to load at
 * cold start. Credentials come from the environment, where Lambda puts the execution role's; the
 * endpoint honours `AWS_ENDPOINT_URL_SECRETS_MANAGER` / `AWS_ENDPOINT_URL` as the SDK does (a local
 * moto server in tests).
 */
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { type OutboundFetch, outboundFetch } from '../http/outbound';

/** The SDK's checksum interface over node:crypto: a hash, or an HMAC when given a secret. */
type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytes(data: SourceData): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

class Sha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
}

/** What Secrets Manager answered other than a secret: its error type (e.g. ResourceNotFoundException). */
export class SecretsManagerError extends Error {
  override name: string;
  readonly $metadata: { httpStatusCode: number };
  constructor(type: string, status: number, message: string) {
    super(message);
    this.name = type;
    this.$metadata = { httpStatusCode: status };
  }
}

export interface GetSecretValueOptions {
  env?: NodeJS.ProcessEnv;
  fetch?: OutboundFetch;
  timeoutMs?: number;
}

/** The secret's `SecretString` (undefined for a binary secret). Throws SecretsManagerError or a network error. */
export async function getSecretValue(
  secretId: string,
  options: GetSecretValueOptions = {},
): Promise<string | undefined> {
  const env = options.env ?? process.env;
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const endpoint = new URL(
    env.AWS_ENDPOINT_URL_SECRETS_MANAGER ??
      env.AWS_ENDPOINT_URL ??
      `https://secretsmanager.${region}.amazonaws.com`,
  );
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new SecretsManagerError('CredentialsProviderError', 0, 'No AWS credentials in the environment');
  }
  const signer = new SignatureV4({
    service: 'secretsmanager',
    region,
    sha256: Sha256,
    credentials: {
      accessKeyId,
      secretAccessKey,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    },
  });
  const body = JSON.stringify({ SecretId: secretId });
  const signed = await signer.sign({
    method: 'POST',
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
    path: endpoint.pathname,
    query: {},
    headers: {
      host: endpoint.host,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'secretsmanager.GetSecretValue',
    },
    body,
  });
  const response = await (options.fetch ?? outboundFetch)(endpoint.href, {
    method: 'POST',
    headers: signed.headers,
    body,
    timeoutMs: options.timeoutMs ?? 5_000,
  });
  const text = await response.text();
  let parsed: { SecretString?: string; __type?: string; message?: string; Message?: string } = {};
  try {
    parsed = JSON.parse(text || '{}');
  } catch {
    // An answer that is not JSON (a proxy's error page): reported by its status below.
  }
  if (response.ok) return parsed.SecretString;
  // `__type` may be qualified: "com.amazonaws.secretsmanager#ResourceNotFoundException".
  const type = parsed.__type?.split('#').pop() ?? `HTTP${response.status}`;
  throw new SecretsManagerError(type, response.status, parsed.message ?? parsed.Message ?? type);
}
