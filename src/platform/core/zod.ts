/**
 * zod for every runtime schema, configured once: import `* as z from './zod'` instead of
 * 'zod/mini'. The functions use `zod/mini`, which bundles only the validators a schema uses
 * (classic zod drags in its whole method-chaining API), but unlike classic zod it loads no error
 * messages: without the `config` below every issue would read just "Invalid input". Importing zod
 * through this module is what guarantees the messages are loaded before any schema runs.
 */
import { en } from 'zod/locales';
import { config, type core } from 'zod/mini';

// Not `locales.en()` through a namespace: the bundle would carry every locale zod ships.
config(en());

export * from 'zod/mini';

/**
 * The one way schema problems are written for people: `path: message` for every issue, joined with
 * "; ", where the path of a top-level issue is `subject` (e.g. "body").
 */
export function describeIssues(error: core.$ZodError, subject = 'body'): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.map(String).join('.') : subject}: ${issue.message}`)
    .join('; ');
}
