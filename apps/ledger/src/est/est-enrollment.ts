import { randomUUID, webcrypto } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { Name, Pkcs10CertificateRequest, Pkcs10CertificateRequestGenerator } from '@peculiar/x509';
import type { DeviceCommand, IssuedCertificate, KnownDeviceState } from '@devid/domain';
import { CaDirectory, type CaRow } from '@devid/projections';
import { DeviceRepository } from '../devices/device-repository';
import { ExecuteDeviceCommand, type CommandOutcome } from '../devices/execute-device-command';
import { CertificateIssuer } from '../pki/certificate-issuer';
import type { EstClient } from './client-identity';
import { EstRefused } from './est-refused';

const OID_COMMON_NAME = '2.5.4.3';
const OID_SERIAL_NUMBER = '2.5.4.5';
const ecdsa = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
/** The key pair type @peculiar/x509 signs a CSR with. */
type RequestKeys = Parameters<typeof Pkcs10CertificateRequestGenerator.create>[0]['keys'];

export type EstOperation = 'simpleenroll' | 'simplereenroll' | 'serverkeygen';

export interface EstEnrolled {
  certificate: Uint8Array;
  /** serverkeygen: the device key the server generated, PKCS#8 DER. */
  privateKey?: Uint8Array;
}

/**
 * EST enrollment as device commands: simpleenroll (authenticated by the IDevID) is the
 * EnrollDevice of POST /devices/{id}/enroll, simplereenroll (by the current LDevID) is
 * ReenrollDevice (the old LDevID superseded), each an event in the device stream.
 */
@Injectable()
export class EstEnrollment {
  constructor(
    private readonly commands: CommandBus,
    private readonly devices: DeviceRepository,
    private readonly issuer: CertificateIssuer,
    private readonly cas: CaDirectory,
  ) {}

  /** The issuing CA that signs LDevIDs now (the one enrollment picks), or CaCertificateNotValid. */
  issuingCa(): CaRow {
    return this.issuer.issuingCa();
  }

  /** The chain of the CA that issues LDevIDs, nearest first (what a device needs to trust its LDevID). */
  caCertificates(): Uint8Array[] {
    const issuing = this.issuingCa();
    return this.cas.chain(issuing.caId).map((ca) => new Uint8Array(Buffer.from(ca.certificate.der, 'base64')));
  }

  async enroll(operation: EstOperation, client: EstClient, csrBase64: string): Promise<EstEnrolled> {
    const reenroll = operation === 'simplereenroll' || (operation === 'serverkeygen' && client.profile === 'LDevID');
    if (operation === 'simpleenroll' && client.profile !== 'IDevID') throw new EstRefused(403, 'est-idevid-required', 'simpleenroll is authenticated by the device IDevID; re-enroll with the LDevID at simplereenroll');
    if (operation === 'simplereenroll' && client.profile !== 'LDevID') throw new EstRefused(403, 'est-ldevid-required', 'simplereenroll is authenticated by the current LDevID; enroll first at simpleenroll');
    const device = await this.devices.load(client.deviceId);
    if (device.state.status === 'unknown') throw new EstRefused(403, 'est-client-certificate-unknown', `device ${client.deviceId} is not registered`);
    this.requireSameDevice(csrBase64, device.state);

    let csr = csrBase64;
    let privateKey: Uint8Array | undefined;
    if (operation === 'serverkeygen') {
      // The device's CSR names it; the key is made here, and certified through the same CSR policy.
      const keys = (await webcrypto.subtle.generateKey(ecdsa, true, ['sign', 'verify'])) as RequestKeys;
      const generated = await Pkcs10CertificateRequestGenerator.create({ name: new Name([{ [OID_COMMON_NAME]: [client.deviceId] }, { [OID_SERIAL_NUMBER]: [device.state.serialNumber] }]), keys, signingAlgorithm: ecdsa });
      csr = generated.toString('pem');
      privateKey = new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    }
    const command = {
      type: reenroll ? 'ReenrollDevice' : 'EnrollDevice',
      deviceId: client.deviceId,
      commandId: randomUUID(),
      now: new Date().toISOString(),
      actor: `est:${client.deviceId}`,
      data: reenroll ? { revokePrevious: false } : {},
    } as DeviceCommand;
    const outcome: CommandOutcome = await this.commands.execute(
      new ExecuteDeviceCommand(command, { fingerprint: command.commandId, correlationId: randomUUID(), prepare: this.issuer.withCertificate(csr) }),
    );
    const issued = outcome.events.find((e) => e.type === 'CertificateIssued')?.data as IssuedCertificate | undefined;
    if (!issued) throw new Error(`${command.type} wrote no certificate`);
    return { certificate: new Uint8Array(Buffer.from(issued.der, 'base64')), ...(privateKey ? { privateKey } : {}) };
  }

  /** The CSR may only name the device of the client certificate (by CN = device id, or serialNumber). */
  private requireSameDevice(csrBase64: string, device: KnownDeviceState): void {
    let request: Pkcs10CertificateRequest;
    try {
      request = new Pkcs10CertificateRequest(Buffer.from(csrBase64.replace(/\s+/g, ''), 'base64'));
    } catch {
      throw new EstRefused(400, 'csr-malformed', 'the body is not a base64 DER PKCS#10 request');
    }
    const names = request.subjectName;
    const commonNames = names.getField(OID_COMMON_NAME);
    const serials = names.getField(OID_SERIAL_NUMBER);
    if (commonNames.some((cn) => cn !== device.deviceId) || serials.some((sn) => sn !== device.serialNumber)) {
      throw new EstRefused(403, 'est-identity-mismatch', `the CSR names ${[...commonNames, ...serials].join(', ')}; the client certificate is device ${device.deviceId} (serial ${device.serialNumber})`);
    }
  }
}
