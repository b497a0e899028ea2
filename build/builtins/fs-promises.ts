/** `node:fs/promises` without an ES module facade (see README.md here). */
const fsPromises = process.getBuiltinModule('node:fs/promises');

export const { access, mkdir, readFile, readdir, rm, stat, writeFile } = fsPromises;
export default fsPromises;
