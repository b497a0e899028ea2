/** Agent's GET /v1/datafile: the project's datafile, as Agent writes it. */
import { type AgentOperation, loadedProject } from '../request';

export const datafile: AgentOperation = async (api, event) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json; charset=utf-8' },
  body: (await loadedProject(api, event)).agentDatafile(),
});
