// Maps TensorBoard tags onto ganwatch names, deterministically (the same tag always gives the same name, on any
// machine, in any order): metric names must match protocol's METRIC_NAME_PATTERN, media kinds MediaKind's pattern.
import { createHash } from 'node:crypto';
import { MAX_METRIC_NAME_CHARS, METRIC_NAME_PATTERN } from '../../protocol/index.js';

const METRIC_NAME = new RegExp(METRIC_NAME_PATTERN);
const KIND_MAX = 64;
const HASH_CHARS = 8;

function hashOf(tag: string): string {
  return createHash('sha256').update(tag, 'utf8').digest('hex').slice(0, HASH_CHARS);
}

/** Cuts `name` to `max` characters, ending in `-` and a hash of the whole tag so long tags that share a prefix differ. */
function fit(name: string, tag: string, max: number): string {
  return name.length <= max ? name : `${name.slice(0, max - HASH_CHARS - 1)}-${hashOf(tag)}`;
}

/**
 * The ganwatch metric name of a scalar tag: the tag itself when it is valid; otherwise every character outside
 * `A-Z a-z 0-9 _ . / -` becomes `_` (one per UTF-16 unit), an empty tag becomes `_`, and a name longer than 128
 * characters keeps its first 119 followed by `-` and 8 hex digits of the tag's SHA-256.
 */
export function metricNameOf(tag: string): string {
  if (METRIC_NAME.test(tag)) return tag;
  const replaced = tag.replace(/[^A-Za-z0-9_./-]/g, '_') || '_';
  return fit(replaced, tag, MAX_METRIC_NAME_CHARS);
}

/**
 * The media kind of an image tag's `index`-th image: `/` becomes `.`, other characters outside `A-Z a-z 0-9 _ . -`
 * become `_`; the index is appended as `.N` from the second image on; at most 64 characters (cut like metric names).
 * `samplesTag` (the --samples-tag option) maps to `samples`, the kind the dashboard's sample panel shows.
 */
export function mediaKindOf(tag: string, index: number, samplesTag: string | null): string {
  const suffix = index > 0 ? `.${index}` : '';
  if (samplesTag !== null && tag === samplesTag) return `samples${suffix}`;
  const replaced = tag.replace(/\//g, '.').replace(/[^A-Za-z0-9_.-]/g, '_') || '_';
  return fit(replaced, tag, KIND_MAX - suffix.length) + suffix;
}
