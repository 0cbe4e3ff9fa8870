/** Errors of the data stage: each message names the file, line or field at fault. */
export class DataError extends Error {
  override name = 'DataError';
}

/** A source that cannot be used: it is skipped and reported, the run goes on. */
export class SkipSource extends Error {
  override name = 'SkipSource';
}
