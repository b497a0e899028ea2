/** A rate limit shared by every container, the port the read-through asks before each Profile API call (adapter: dynamodb/rate-limiter.ts). */
export interface RateLimiter {
  /** Takes `permits` permits now, or none: false when the current slot cannot give them all. */
  acquire(permits: number): Promise<boolean>;
}
