/**
 * aws-cdk-lib declares optional members of its interfaces as `x?: T` and implements them in its
 * classes as `x: T | undefined`. Under `exactOptionalPropertyTypes` a class instance then no
 * longer converts to its own interface (`EventBus` → `IEventBus`, `Secret` → `ISecret`). This is
 * the one bridge: it checks that `resource` has every member of `I` (each possibly `undefined`)
 * and changes no value.
 */
export function asInterface<I>(resource: { readonly [K in keyof I]: I[K] | undefined }): I {
  return resource as I;
}
