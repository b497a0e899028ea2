/** `node:process` without an ES module facade (see README.md here): ~15 ms of getters otherwise. */
const nodeProcess = globalThis.process;

export const { env, versions, platform, arch, argv, hrtime, nextTick, emitWarning, cwd } = nodeProcess;
export default nodeProcess;
