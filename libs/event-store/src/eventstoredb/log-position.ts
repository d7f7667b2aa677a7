/** A record's place in EventStoreDB's transaction log ($all): commit, then prepare position. */
export interface LogPosition {
  commit: bigint;
  prepare: bigint;
}

/** Orders two $all positions: events of one transaction share a commit position and differ in prepare. */
export const compareLogPositions = (a: LogPosition, b: LogPosition): number => {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
};
