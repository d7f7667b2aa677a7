/** Stream naming (DESIGN.md "Events and streams"). */
export const DEVICE_STREAM_PREFIX = 'device-';
export const deviceStreamId = (deviceId: string): string => `${DEVICE_STREAM_PREFIX}${deviceId}`;
export const deviceIdOfStream = (streamId: string): string | undefined =>
  streamId.startsWith(DEVICE_STREAM_PREFIX) ? streamId.slice(DEVICE_STREAM_PREFIX.length) : undefined;
