/**
 * The one retry policy: capped exponential backoff with jitter, so concurrent invocations that lost
 * the same race do not retry in lockstep. Used for conflicted identity writes, conflicted account
 * writes and DynamoDB's unprocessed keys (full jitter), and for the event outbox's redelivery times
 * (half jitter: a retry minutes away should not come at once either).
 */

export interface BackoffOptions {
  /** Delay scale of the first retry, in ms. */
  baseMs?: number;
  /** Upper bound of one delay, in ms. */
  maxMs?: number;
  /** `full` (default): random in [0, cap); `half`: random in [cap/2, cap). */
  jitter?: 'full' | 'half';
}

/** The delay before retry number `attempt` (1 = first retry), with cap = min(max, base·2^attempt). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? 15;
  const max = options.maxMs ?? 500;
  const cap = Math.min(max, base * 2 ** attempt);
  return options.jitter === 'half' ? cap * (0.5 + Math.random() / 2) : cap * Math.random();
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `round` until it reports nothing left to do, sleeping with jitter between rounds. `round`
 * gets the attempt number (1-based) and returns whether work remains; after `maxAttempts` rounds
 * with work remaining, `exhausted()` builds the error to throw.
 */
export async function retryRounds(
  round: (attempt: number) => Promise<boolean>,
  options: BackoffOptions & { maxAttempts: number; exhausted: () => Error },
): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1) await sleep(backoffDelay(attempt - 1, options));
    const remaining = await round(attempt);
    if (!remaining) return attempt;
    if (attempt >= options.maxAttempts) throw options.exhausted();
  }
}
