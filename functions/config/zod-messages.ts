/**
 * Every module that defines a zod schema imports this. The functions use `zod/mini`, which bundles
 * only the validators a schema uses (classic `zod` drags in its whole method-chaining API), but
 * unlike classic zod it loads no error messages: without this, every issue would read just
 * "Invalid input" instead of e.g. "Invalid option: expected one of …". Loads zod's English messages,
 * the ones classic zod loads by itself.
 */
import { en } from 'zod/locales';
import * as z from 'zod/mini';

// Not `z.locales.en()`: through the namespace, the bundle would carry every locale zod ships.
z.config(en());
