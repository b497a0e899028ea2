/** `node:crypto` without an ES module facade (see README.md here): its `webcrypto` getter loads Web Crypto. */
const crypto = process.getBuiltinModule('node:crypto');

export const {
  createHash,
  createHmac,
  getRandomValues,
  hash,
  randomBytes,
  randomFillSync,
  randomUUID,
  timingSafeEqual,
} = crypto;
export default crypto;
