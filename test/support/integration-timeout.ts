/**
 * The integration project's time per test and hook. Jest reads `testTimeout` from the top-level
 * configuration only (a project's own is ignored), so without this every integration test had
 * 5 s, and one that does real I/O on a loaded machine (a datafile CDN that never answers, a cold
 * DynamoDB Local) timed out. A file that needs longer still sets its own.
 */
import { jest } from '@jest/globals';

jest.setTimeout(60_000);
