import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { DomainError, type ManufactureDevice } from '@devid/domain';
import { EVENT_ID_NAMESPACE, uuidV5 } from '@devid/event-store';
import { BatchRejected, checkRecord, readBatch, RecordRejected, type RecordRejectionCode, type VerifiedBatch } from '@devid/factory';
import { CaDirectory, CertificateInventory } from '@devid/projections';
import { ExecuteDeviceCommand, type CommandOutcome } from '../../devices/execute-device-command';
import { HttpProblem } from '../../http/problem';

export interface RejectedRecord {
  serialNumber: string;
  /** 1-based position of the record in the batch (the header is line 1, so record n is line n + 1). */
  record: number;
  code: RecordRejectionCode;
  reason: string;
}

export interface BatchImportResult {
  batchId: string;
  caId: string;
  records: number;
  /** Devices registered by this import. */
  imported: number;
  /** Devices this batch had already registered (an earlier import of the same batch). */
  alreadyPresent: number;
  rejected: RejectedRecord[];
}

/** Devices registered concurrently: lets the store group-commit the appends. */
const CONCURRENCY = 32;

/** The command id of one device of one batch: importing the batch again replays, never re-registers. */
export const batchCommandId = (batchId: string, serialNumber: string) => uuidV5(`factory-batch:${batchId}:${serialNumber}`, EVENT_ID_NAMESPACE);

/**
 * Imports an offline factory batch: the whole batch is refused (nothing written) unless its
 * signature, chain and factory CA hold; then each device record is checked on its own and
 * registered through the device decider (DeviceManufactured + CertificateIssued), so a bad
 * record is reported and the others imported.
 */
@Injectable()
export class ImportFactoryBatch {
  constructor(
    private readonly commands: CommandBus,
    private readonly cas: CaDirectory,
    @Inject(CertificateInventory) private readonly inventory: CertificateInventory,
  ) {}

  async import(source: AsyncIterable<Uint8Array>, options: { actor: string; maxBytes: number }): Promise<BatchImportResult> {
    const batch = await readBatch(source, { maxBytes: options.maxBytes });
    this.trustFactoryCa(batch);
    const result: BatchImportResult = { batchId: batch.header.batchId, caId: batch.header.caId, records: batch.records.length, imported: 0, alreadyPresent: 0, rejected: [] };
    const seen = new Set<string>();
    const work = batch.records.map((record, index) => ({ record, index }));
    // A failure that is not the record's (the store) stops every worker; the import is retried whole.
    let failure: unknown;
    const next = async (): Promise<void> => {
      for (let item = work.shift(); item && failure === undefined; item = work.shift()) {
        const { record, index } = item;
        try {
          if (seen.has(record.serialNumber)) throw new RecordRejected('record-duplicate-serial', `serial number ${record.serialNumber} appears earlier in the batch`);
          seen.add(record.serialNumber);
          const outcome = await this.registerDevice(batch, record, options.actor);
          if (outcome.replayed) result.alreadyPresent++;
          else result.imported++;
        } catch (error) {
          const rejection = this.rejection(error);
          if (rejection) result.rejected.push({ serialNumber: record.serialNumber, record: index + 1, ...rejection });
          else failure = error;
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, next));
    if (failure !== undefined) throw failure;
    result.rejected.sort((a, b) => a.record - b.record);
    return result;
  }

  /** The batch's factory CA must be the ledger's, a factory CA, and it and its issuers not revoked. */
  private trustFactoryCa({ header }: VerifiedBatch): void {
    const ca = this.cas.get(header.caId);
    if (!ca) throw new BatchRejected('batch-ca-unknown', `the factory CA ${header.caId} is not registered in this ledger`);
    if (ca.role !== 'factory') throw new BatchRejected('batch-ca-mismatch', `${header.caId} is a ${ca.role} CA, not a factory CA`);
    if (ca.certificate.fingerprintSha256 !== header.factoryCaSha256) {
      throw new BatchRejected('batch-ca-mismatch', `the batch was signed by a certificate of ${header.caId} that the ledger does not hold`);
    }
    const revoked = this.cas.chain(header.caId).find((c) => c.status !== 'active');
    if (revoked) throw new BatchRejected('batch-ca-not-active', `CA ${revoked.caId} in the chain of ${header.caId} is ${revoked.status}`);
  }

  private async registerDevice(batch: VerifiedBatch, record: VerifiedBatch['records'][number], actor: string): Promise<CommandOutcome> {
    const { caId, batchId } = batch.header;
    const idevid = checkRecord(record, batch.chain[0]!, caId);
    if (this.inventory.isKeyBlocked(idevid.spkiSha256)) throw new RecordRejected('record-key-blocked', 'the device key was revoked as compromised and cannot be certified again');
    const known = this.inventory.get(idevid.serialNumber, caId);
    if (known && known.deviceId !== record.deviceId) {
      throw new RecordRejected('record-certificate-duplicate', `certificate ${idevid.serialNumber} is already recorded for device ${known.deviceId}`);
    }
    const command: ManufactureDevice = {
      type: 'ManufactureDevice',
      deviceId: record.deviceId,
      commandId: batchCommandId(batchId, record.serialNumber),
      // The device was born when the gateway issued its IDevID, not when the batch reached the ledger.
      now: idevid.notBefore,
      actor,
      data: { serialNumber: record.serialNumber, model: record.model, factoryId: caId, idevid },
    };
    const fingerprint = createHash('sha256').update(`factory-batch ${batchId} ${record.serialNumber} ${idevid.fingerprintSha256}`).digest('base64url');
    return this.commands.execute(new ExecuteDeviceCommand(command, { fingerprint, correlationId: batchId }));
  }

  /** What a record-level failure reports; undefined for a failure of the ledger itself. */
  private rejection(error: unknown): { code: RecordRejectionCode; reason: string } | undefined {
    if (error instanceof RecordRejected) return { code: error.code, reason: error.message };
    if (error instanceof DomainError) return { code: error.code === 'device-exists' ? 'record-device-exists' : 'record-refused', reason: error.message };
    if (error instanceof HttpProblem && error.code === 'idempotency-key-reused') {
      return { code: 'record-refused', reason: 'this batch id already registered the device with another certificate' };
    }
    return undefined;
  }
}
