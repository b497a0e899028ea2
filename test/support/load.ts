/** Helpers the fault suite shares: polling for an outcome, and watching for unhandled rejections. */

/** Polls `check` every `everyMs` until it holds or `ms` pass; returns whether it held. */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  ms = 30_000,
  everyMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((done) => setTimeout(done, everyMs));
  }
  return check();
}

/** Records every unhandled promise rejection of this process until `stop()`. */
export function watchUnhandledRejections(): { rejections: unknown[]; stop(): void } {
  const rejections: unknown[] = [];
  const listener = (reason: unknown) => rejections.push(reason);
  process.on('unhandledRejection', listener);
  return { rejections, stop: () => process.off('unhandledRejection', listener) };
}

export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
