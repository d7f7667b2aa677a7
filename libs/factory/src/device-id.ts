import { EVENT_ID_NAMESPACE, uuidV5 } from '@devid/event-store';

/**
 * The ledger's default device id: name-based, so the same model + serial number is the
 * same device whoever registers it, online (POST /devices) or offline (a factory batch).
 */
export const deviceIdFor = (model: string, serialNumber: string): string => uuidV5(`device:${model}\u0000${serialNumber}`, EVENT_ID_NAMESPACE);
