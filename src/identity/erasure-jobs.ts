/** A Segment delete's erasure jobs, the port the erasure use case (erasure.ts) works through (adapter: dynamodb/erasure-jobs.ts). */
import type { Identifier } from './identifiers';

export interface ErasureJob {
  /** Opaque outside this module. */
  readonly ref: { readonly sk: string };
  messageId: string;
  identifiers: Identifier[];
  requestedAt: number;
}

/** The port the erasure use case uses. */
export interface ErasureJobs {
  pending(): Promise<ErasureJob[]>;
  done(job: ErasureJob): Promise<void>;
}
