/** `node:async_hooks` without an ES module facade (see README.md here). */
const asyncHooks = process.getBuiltinModule('node:async_hooks');

export const { AsyncLocalStorage, AsyncResource } = asyncHooks;
export default asyncHooks;
