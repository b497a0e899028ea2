/**
 * The signed GetSecretValue call (src/platform/config/secrets-manager.ts) against moto's Secrets
 * Manager on loopback: the secret read back, a missing secret named as Secrets Manager names it
 * (and not retryable), and the container's secrets source reading every purpose through it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../../src/platform/config/env';
import { secretsSource } from '../../../src/platform/config/secrets';
import { getSecretValue, SecretsManagerError } from '../../../src/platform/config/secrets-manager';
import { ConfigurationError, isTransient } from '../../../src/platform/core/errors';
import { type Moto, startMoto } from '../../support/moto';

let moto: Moto;
const env = () => ({
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_SESSION_TOKEN: 'session',
  AWS_ENDPOINT_URL_SECRETS_MANAGER: moto.endpoint,
});

/** Creates a secret the way the console or CDK would (moto takes any signature). */
async function createSecret(name: string, value: string): Promise<string> {
  const response = await fetch(moto.endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'secretsmanager.CreateSecret',
      authorization:
        'AWS4-HMAC-SHA256 Credential=test/20260101/eu-west-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: JSON.stringify({ Name: name, SecretString: value }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { ARN: string }).ARN;
}

beforeAll(async () => {
  moto = await startMoto();
}, 40_000);
afterAll(() => moto.stop());

describe('getSecretValue', () => {
  it('reads a secret by name and by ARN', async () => {
    const arn = await createSecret('crosswalk/test-keys', '{"apiKeys":["a","b"]}');
    expect(await getSecretValue('crosswalk/test-keys', { env: env() })).toBe('{"apiKeys":["a","b"]}');
    expect(await getSecretValue(arn, { env: env() })).toBe('{"apiKeys":["a","b"]}');
  });

  it('names what Secrets Manager answered for a missing secret, which no retry fixes', async () => {
    const error = await getSecretValue('crosswalk/none', { env: env() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretsManagerError);
    expect((error as Error).name).toBe('ResourceNotFoundException');
    expect(isTransient(error)).toBe(false);
  });

  it('refuses to sign without credentials', async () => {
    const { AWS_ACCESS_KEY_ID: _, ...without } = env();
    await expect(getSecretValue('x', { env: without })).rejects.toThrow('No AWS credentials');
  });
});

describe('secretsSource (deployed)', () => {
  it('reads each purpose through the signed call', async () => {
    const apiKeys = await createSecret('crosswalk/api', '{"apiKeys":"k1,k2","adminApiKeys":["op"]}');
    const digest = await createSecret('crosswalk/digest', '{"secret":"0123456789abcdef0123"}');
    const saved = { ...process.env };
    Object.assign(process.env, env());
    try {
      const config = loadConfig({
        ...process.env,
        TABLE_NAME: 't',
        API_KEYS_SECRET_ARN: apiKeys,
        EXPERIMENT_ID_SECRET_ARN: digest,
      });
      expect(await secretsSource(config).get()).toMatchObject({
        apiKeys: ['k1', 'k2'],
        adminApiKeys: ['op'],
        experimentIdSecret: '0123456789abcdef0123',
      });
      const missing = loadConfig({ ...process.env, TABLE_NAME: 't', API_KEYS_SECRET_ARN: 'crosswalk/gone' });
      await expect(secretsSource(missing).get()).rejects.toThrow(ConfigurationError);
    } finally {
      process.env = saved;
    }
  });
});

describe('getSecretValue against moto with authentication on', () => {
  let authed: Moto;
  beforeAll(async () => {
    // CreateUser, CreateAccessKey, PutUserPolicy and CreateSecret pass unsigned; everything after is checked.
    authed = await startMoto({ unauthenticatedActions: 4 });
  }, 40_000);
  afterAll(() => authed.stop());

  const iam = async (params: Record<string, string>) => {
    const response = await fetch(authed.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: new URLSearchParams({ Version: '2010-05-08', ...params }),
    });
    expect(response.status).toBe(200);
    return response.text();
  };

  it('is accepted with the right key and refused with a wrong one: the signature is checked', async () => {
    await iam({ Action: 'CreateUser', UserName: 'crosswalk' });
    const key = await iam({ Action: 'CreateAccessKey', UserName: 'crosswalk' });
    await iam({
      Action: 'PutUserPolicy',
      UserName: 'crosswalk',
      PolicyName: 'read-secrets',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: '*' }],
      }),
    });
    const created = await fetch(authed.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'secretsmanager.CreateSecret',
        authorization:
          'AWS4-HMAC-SHA256 Credential=x/20260101/eu-west-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: JSON.stringify({ Name: 'crosswalk/signed', SecretString: 'signed-value' }),
    });
    expect(created.status).toBe(200);
    const accessKeyId = /<AccessKeyId>(.*?)<\/AccessKeyId>/.exec(key)?.[1] as string;
    const secretAccessKey = /<SecretAccessKey>(.*?)<\/SecretAccessKey>/.exec(key)?.[1] as string;
    const signedEnv = {
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: authed.endpoint,
      AWS_ACCESS_KEY_ID: accessKeyId,
    };
    expect(
      await getSecretValue('crosswalk/signed', {
        env: { ...signedEnv, AWS_SECRET_ACCESS_KEY: secretAccessKey },
      }),
    ).toBe('signed-value');
    const refused = await getSecretValue('crosswalk/signed', {
      env: { ...signedEnv, AWS_SECRET_ACCESS_KEY: `${secretAccessKey}x` },
    }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SecretsManagerError);
    expect((refused as SecretsManagerError).$metadata.httpStatusCode).toBe(403);
  });
});
