/** Agent's GET /v1/config: the project's OptimizelyConfig, as Agent writes it. */
import { json } from '../../../src/platform/http/api-gateway';
import { type AgentOperation, loadedProject } from '../request';

export const config: AgentOperation = async (api, event) =>
  json(200, (await loadedProject(api, event)).agentConfig);
