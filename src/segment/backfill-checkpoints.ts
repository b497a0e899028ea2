/** Where a backfill run stands, the port the backfill (backfill.ts) resumes from (adapter: dynamodb/backfill-checkpoints.ts). */
export interface BackfillTotals {
  lines: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  profiles: number;
  identifiers: number;
  accounts: number;
}

export interface BackfillCheckpoint {
  runId: string;
  source: string;
  /** The file being read (its name) and the last line of it that is done. */
  file: string;
  line: number;
  /** Files before `file` are done. */
  fileIndex: number;
  totals: BackfillTotals;
  complete: boolean;
  updatedAt: number;
}

export interface BackfillCheckpoints {
  get(runId: string): Promise<BackfillCheckpoint | null>;
  put(checkpoint: BackfillCheckpoint): Promise<void>;
}
