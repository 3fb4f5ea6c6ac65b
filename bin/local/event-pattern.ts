/**
 * EventBridge event pattern matching, for the subset our rules use:
 * - a nested object matches the event field of the same name, recursively;
 * - an array lists alternatives: exact values (strings, numbers, booleans, null) or
 *   `{ "exists": true | false }`; an array-valued event field matches if any element does.
 * Other operators (prefix, anything-but, numeric…) are refused when the pattern is compiled,
 * so a rule the emulator cannot evaluate fails loudly instead of matching wrongly.
 */

export type Matcher = (event: unknown) => boolean;

type Leaf = (value: unknown, present: boolean) => boolean;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function compileAlternative(alt: unknown, path: string): Leaf {
  if (alt === null || typeof alt === 'string' || typeof alt === 'number' || typeof alt === 'boolean') {
    return (value) => (Array.isArray(value) ? value.includes(alt) : value === alt);
  }
  if (isPlainObject(alt)) {
    const keys = Object.keys(alt);
    if (keys.length === 1 && keys[0] === 'exists' && typeof alt.exists === 'boolean') {
      const wanted = alt.exists;
      // `exists` applies to leaves only: an object-valued field does not "exist" for it.
      return (value, present) => (present && !isPlainObject(value)) === wanted;
    }
  }
  throw new Error(`event pattern at ${path}: unsupported match ${JSON.stringify(alt)}`);
}

function compileObject(pattern: Record<string, unknown>, path: string): Matcher {
  const fields = Object.entries(pattern).map(([key, sub]): Matcher => {
    const here = path ? `${path}.${key}` : key;
    if (Array.isArray(sub)) {
      if (sub.length === 0) throw new Error(`event pattern at ${here}: empty array matches nothing`);
      const alternatives = sub.map((alt) => compileAlternative(alt, here));
      return (event) => {
        const present = isPlainObject(event) && Object.hasOwn(event, key);
        const value = present ? event[key] : undefined;
        return alternatives.some((matches) => matches(value, present));
      };
    }
    if (isPlainObject(sub)) {
      const nested = compileObject(sub, here);
      return (event) => isPlainObject(event) && nested(event[key]);
    }
    throw new Error(`event pattern at ${here}: expected an array or an object`);
  });
  return (event) => fields.every((matches) => matches(event));
}

/** Compiles a pattern (throws on unsupported syntax) into a predicate over events. */
export function compilePattern(pattern: object): Matcher {
  if (!isPlainObject(pattern)) throw new Error('event pattern must be an object');
  return compileObject(pattern, '');
}
