/**
 * The contract's zod: `zod/mini`, the functional API over the same core as `zod` (same checks,
 * same issues, same parsing), without the method-chaining classes that `zod` builds at import:
 * a Lambda bundle's zod is ~17 KB instead of ~95 KB, and far less work at a cold start (README,
 * "Cold start"). Every contract schema imports `z` from here.
 *
 * Writing a schema: `z.string().check(z.minLength(1, 'msg'), z.maxLength(…), z.regex(…),
 * z.refine(fn, 'msg'))` for `.min().max().regex().refine()`; `z.optional(s)` for `s.optional()`;
 * `z.nullish(s)`; `z.extend(obj, shape)`; `z.strictObject(shape)` for `.strict()`; an array's
 * `.max(n, 'msg')` is `.check(z.maxLength(n, 'msg'))`. Messages are identical: `zod/mini` loads no
 * locale by itself, so zod's English one (what `zod` registers) is configured here, once: the one
 * contract module with a side effect, so `package.json` here lists it in `sideEffects`.
 */
import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());

export * from 'zod/mini';
