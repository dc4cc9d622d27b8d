// This browser's remembered choices (localStorage): reads and writes that never throw, for storage may be disabled or
// full (private windows, strict settings); a choice that cannot be kept is simply not kept.

/** The stored text of `key`, or null (none stored, or no storage). */
export function stored(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

/** Stores `value` under `key`; null removes it. */
export function store(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    /* storage may be disabled */
  }
}
