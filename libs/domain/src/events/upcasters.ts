import { UnknownEvent } from '../errors';
import { DEVICE_EVENT_VERSIONS, isDeviceEventType, type DeviceEvent } from '../device/device-events';
import { isRevocationReason } from '../device/revocation-reason';

/** An event as read from storage: any version, data not yet trusted. */
export interface RawEvent {
  type: string;
  version: number;
  data: unknown;
}

type Upcaster = (data: Record<string, unknown>) => Record<string, unknown>;

/**
 * `${type}@${fromVersion}` → function producing version fromVersion + 1.
 * Old events are upcast on read and never rewritten; the stored bytes stay as they were.
 */
const UPCASTERS: Record<string, Upcaster> = {
  // DeviceRevoked v1 carried free text in `reason`; v2 carries an RFC 5280 reason name.
  // Free text that is not a reason name becomes `unspecified`, and the text is kept as `comment`.
  'DeviceRevoked@1': (data) => {
    const { reason, ...rest } = data;
    if (isRevocationReason(reason)) return { ...rest, reason };
    return { ...rest, reason: 'unspecified', ...(typeof reason === 'string' && reason ? { comment: reason } : {}) };
  },
};

/** Brings a stored event to the current version of its type. */
export const upcast = (event: RawEvent): DeviceEvent => {
  if (!isDeviceEventType(event.type)) throw new UnknownEvent(event.type, event.version);
  const target = DEVICE_EVENT_VERSIONS[event.type];
  if (event.version > target || event.version < 1) throw new UnknownEvent(event.type, event.version);
  let data = (event.data ?? {}) as Record<string, unknown>;
  for (let v = event.version; v < target; v++) {
    const step = UPCASTERS[`${event.type}@${v}`];
    if (!step) throw new UnknownEvent(event.type, v);
    data = step(data);
  }
  return { type: event.type, version: target, data } as DeviceEvent;
};
