import type { StoredEvent } from '@devid/event-store';

/** The lifecycle topic (DESIGN.md "Kafka contracts"). */
export const LIFECYCLE_TOPIC = 'devid.lifecycle.v1';
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=UTF-8';

/**
 * A CloudEvents 1.0 event in JSON structured mode. Extension attributes carry where the
 * event sits in the ledger; position and revision are decimal strings because they are
 * int64 in the store and a CloudEvents Integer is only 32 bits.
 */
export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: unknown;
  streamid: string;
  revision: string;
  position: string;
  correlationid?: string;
}

export interface CloudEventOptions {
  /** A URI-reference naming this ledger, e.g. `urn:devid:ledger:acme-prod` (default `/devid-ledger`). */
  source?: string;
}

/** `device-…` → `device`; a stream id without a dash is its own kind. */
const streamKind = (streamId: string): string => {
  const dash = streamId.indexOf('-');
  return dash > 0 ? streamId.slice(0, dash) : streamId;
};

/** The id the stream is about (deviceId, caId, detectorId): the stream id after its kind. */
export const subjectOf = (streamId: string): string => {
  const dash = streamId.indexOf('-');
  return dash > 0 ? streamId.slice(dash + 1) : streamId;
};

/** `DeviceShipped` v1 → `io.devid.device.shipped.v1`; `CertificateAuthorityCreated` → `io.devid.certificate-authority.created.v1`. */
export const cloudEventType = (eventType: string, version: number): string => {
  const words = eventType.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+/g) ?? [eventType];
  const lower = words.map((w) => w.toLowerCase());
  const action = lower.length > 1 ? lower.pop()! : 'happened';
  return `io.devid.${lower.join('-')}.${action}.v${version}`;
};

export const toCloudEvent = (event: StoredEvent, options: CloudEventOptions = {}): CloudEvent => {
  const base = options.source ?? '/devid-ledger';
  const correlationId = event.metadata.correlationId;
  return {
    specversion: '1.0',
    id: event.id,
    // A URN names the whole ledger; a path source is refined by the stream kind.
    source: base.startsWith('urn:') ? base : `${base.replace(/\/$/, '')}/${streamKind(event.streamId)}`,
    type: cloudEventType(event.type, event.version),
    subject: subjectOf(event.streamId),
    time: event.recordedAt,
    datacontenttype: 'application/json',
    data: event.data,
    streamid: event.streamId,
    revision: String(event.revision),
    position: String(event.position),
    ...(typeof correlationId === 'string' && correlationId ? { correlationid: correlationId } : {}),
  };
};
