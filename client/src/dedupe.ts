/**
 * A bounded window of recently seen ids. `seen(id)` answers true for an id already in the
 * window, and otherwise records it, forgetting the oldest id once `size` are held.
 */
export function dedupeWindow(size: number): (id: string) => boolean {
  const ids = new Set<string>();
  return (id) => {
    if (ids.has(id)) return true;
    ids.add(id);
    if (ids.size > size) ids.delete(ids.values().next().value as string);
    return false;
  };
}
