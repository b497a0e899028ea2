/** `node:http` without an ES module facade (see README.md here): its getters would load undici, ~50 ms. */
const http = process.getBuiltinModule('node:http');

export const { Agent, ClientRequest, IncomingMessage, STATUS_CODES, METHODS, globalAgent, request, get } =
  http;
export default http;
