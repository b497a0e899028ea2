/** `node:https` without an ES module facade (see README.md here). */
const https = process.getBuiltinModule('node:https');

export const { Agent, globalAgent, request, get } = https;
export default https;
