/** Optimizely Agent's OpenAPI document (vendored in test/fixtures/agent), ready to validate responses. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { OpenAPIBackend } from 'openapi-backend';
import { parse as parseYaml } from 'yaml';

export const AGENT_OPENAPI_PATH = resolve(import.meta.dirname, '..', 'fixtures', 'agent', 'openapi.yaml');

export async function agentApi(): Promise<OpenAPIBackend> {
  const definition = parseYaml(readFileSync(AGENT_OPENAPI_PATH, 'utf8'));
  // quick: Agent's published document has schema slips (e.g. `examples` in a Schema Object) that
  // fail the 3.1 meta-schema check; the operation schemas themselves compile and are what we validate.
  const api = new OpenAPIBackend({ definition, quick: true, validate: true, ajvOpts: { strict: false } });
  await api.init();
  return api;
}
