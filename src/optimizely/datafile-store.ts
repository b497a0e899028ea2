/**
 * Where fetched Optimizely datafiles are kept between containers: the port the datafile source
 * reads and writes through (adapter: dynamodb/datafile-store.ts; tests use an in-memory one).
 */

export interface StoredDatafile {
  sdkKey: string;
  /** The datafile JSON text exactly as fetched. */
  datafile: string;
  revision: number;
  etag?: string;
  /** Epoch ms of the fetch that produced it. */
  fetchedAt: number;
}

/** The port the datafile source uses; tests may give it an in-memory one. */
export interface DatafileStore {
  get(sdkKey: string): Promise<StoredDatafile | null>;
  /** Stores unless a newer (or equal) revision is already there; returns whether it wrote. */
  put(datafile: StoredDatafile): Promise<boolean>;
}
