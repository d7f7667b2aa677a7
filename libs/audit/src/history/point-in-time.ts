import { InvalidPointInTime } from '../errors';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 3339 date-time (a time zone is required: "as of" a local time is ambiguous). */
export const parsePointInTime = (text: string): Date => {
  const m = RFC3339.exec(text);
  const time = m ? Date.parse(text.toUpperCase()) : Number.NaN;
  // Date.parse rolls 2025-02-30 over to March; the calendar date must round-trip.
  if (!m || Number.isNaN(time) || Number(m[2]) > 12 || Number(m[3]) > 31 || Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 60) {
    throw new InvalidPointInTime(text);
  }
  const day = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  if (day.getUTCDate() !== Number(m[3])) throw new InvalidPointInTime(text);
  return new Date(time);
};

/** recordedAt ≤ at, compared as instants (stored times are RFC 3339 UTC with ms). */
export const recordedBy = (recordedAt: string, at: Date): boolean => Date.parse(recordedAt) <= at.getTime();
