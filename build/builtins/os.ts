/** `node:os` without an ES module facade (see README.md here). */
const os = process.getBuiltinModule('node:os');

export const { EOL, arch, cpus, homedir, hostname, platform, release, tmpdir } = os;
export default os;
