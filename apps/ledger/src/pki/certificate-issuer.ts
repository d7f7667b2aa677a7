import { readFileSync } from 'node:fs';
import { Inject, Injectable } from '@nestjs/common';
import { decide, type DeviceCommand, type DeviceState, type IssuedCertificate } from '@devid/domain';
import {
  checkCsrAsync,
  idevidProfile,
  issueCertificateForCsr,
  ldevidProfile,
  newSerialNumber,
  profileFromTemplate,
  wholeSeconds,
  type CertificateAuthority,
  type CertificateProfile,
} from '@devid/pki';
import { CertificateInventory, type CaRow } from '@devid/projections';
import { LEDGER_CONFIG, type LedgerConfig } from '../config/config';
import { HttpProblem } from '../http/problem';
import { Authorities } from './authorities';

/** Stands in for the certificate while checking that the command is legal, before signing. */
const PLACEHOLDER: Omit<IssuedCertificate, 'profile' | 'caId'> = {
  serialNumber: '00',
  der: '',
  subject: '',
  notBefore: '',
  notAfter: '',
  spkiSha256: '',
  fingerprintSha256: '',
};

export const MAX_CSR_BYTES = 8 * 1024;

const PEM_OR_BASE64_DER = (csr: string): string | Uint8Array =>
  // PEM as is; otherwise base64 DER (as EST sends it), strictly, so junk stays junk for the policy to refuse.
  /^\s*-----BEGIN/.test(csr) || !/^[A-Za-z0-9+/\r\n]+={0,2}\s*$/.test(csr) ? csr : new Uint8Array(Buffer.from(csr, 'base64'));

/**
 * Turns a CSR into the certificate a device command carries: command legal in this state?
 * → CSR checks (PoP, key policy, subject, blocked keys) → sign. Nothing is stored here:
 * a certificate exists only once its CertificateIssued event is appended.
 */
@Injectable()
export class CertificateIssuer {
  private readonly templates = new Map<string, CertificateProfile>();
  /** The profiles used without a template, made once (not per enrollment). */
  private readonly defaults: Readonly<Record<'IDevID' | 'LDevID', CertificateProfile>>;

  constructor(
    private readonly authorities: Authorities,
    private readonly inventory: CertificateInventory,
    @Inject(LEDGER_CONFIG) config: LedgerConfig,
  ) {
    this.defaults = { IDevID: idevidProfile(), LDevID: ldevidProfile({ validityDays: config.LDEVID_VALIDITY_DAYS }) };
    if (config.CERT_TEMPLATES_FILE) {
      const parsed = JSON.parse(readFileSync(config.CERT_TEMPLATES_FILE, 'utf8')) as unknown[];
      for (const template of Array.isArray(parsed) ? parsed : [parsed]) {
        const profile = profileFromTemplate(template);
        this.templates.set(profile.name, profile);
      }
    }
  }

  /** A `prepare` hook for ExecuteDeviceCommand: signs once the command is known to be legal. */
  withCertificate(csr: string, options: { template?: string } = {}) {
    return async (command: DeviceCommand, state: DeviceState): Promise<DeviceCommand> => {
      const profileName = command.type === 'ManufactureDevice' ? 'IDevID' : 'LDevID';
      const withCert = (certificate: IssuedCertificate): DeviceCommand => {
        switch (command.type) {
          case 'ManufactureDevice':
            return { ...command, data: { ...command.data, idevid: certificate } };
          case 'EnrollDevice':
          case 'ReinstateDevice':
          case 'ReenrollDevice':
            return { ...command, data: { ...command.data, certificate } } as DeviceCommand;
          default:
            throw new HttpProblem(400, 'csr-not-expected', `${command.type} takes no CSR`);
        }
      };
      const now = new Date(command.now);
      // The notAfter the profile asks for picks among valid CAs; an unknown template asks for none here and is refused below, after the CSR checks.
      const until = (options.template ? this.templates.get(options.template) : this.defaults[profileName])?.notAfter(now).getTime();
      // No CA able to sign (none active, expired, under a revoked root) is answered after the
      // CSR's checks, like the other refusals of the CA side below: a bad CSR is the caller's to fix first.
      let ca: CaRow | undefined;
      let caRefusal: unknown;
      try {
        ca =
          profileName === 'IDevID'
            ? this.authorities.caFor('factory', { factoryId: command.type === 'ManufactureDevice' ? command.data.factoryId : undefined, now: now.getTime(), until })
            : this.authorities.caFor('issuing', { now: now.getTime(), until });
      } catch (error) {
        caRefusal = error;
      }
      decide(withCert({ ...PLACEHOLDER, profile: profileName, caId: ca?.caId ?? '' }), state); // throws if illegal: nothing signed
      const serialNumber = state.status === 'unknown' ? (command.type === 'ManufactureDevice' ? command.data.serialNumber : undefined) : state.serialNumber;
      const policy = {
        expectedDeviceId: command.deviceId,
        expectedSerialNumber: serialNumber,
        blockedKeys: (spki: string) => this.inventory.isKeyBlocked(spki),
        maxBytes: MAX_CSR_BYTES,
      };
      const received = PEM_OR_BASE64_DER(csr);
      let profile: CertificateProfile;
      let authority: CertificateAuthority;
      try {
        if (ca === undefined) throw caRefusal;
        profile = this.profile(profileName, options.template);
        authority = await this.authorities.authority(ca.caId);
      } catch (error) {
        await checkCsrAsync(received, policy); // a bad CSR is answered first, as when these came after its checks
        throw error;
      }
      // CSR checks, then the CA's signature; proof of possession and signature in one crypto-worker job.
      const { issued } = await issueCertificateForCsr(received, policy, {
        authority,
        profile,
        device: { deviceId: command.deviceId, ...(serialNumber ? { serialNumber } : {}) },
        serialNumber: newSerialNumber(),
        now,
        baseUrl: this.authorities.baseUrl,
      });
      return withCert({
        serialNumber: issued.serialNumber,
        caId: ca.caId,
        profile: profileName,
        der: Buffer.from(issued.der).toString('base64'),
        subject: issued.subject,
        notBefore: issued.notBefore.toISOString(),
        notAfter: issued.notAfter.toISOString(),
        spkiSha256: issued.subjectPublicKeyInfoSha256,
        fingerprintSha256: issued.fingerprintSha256,
      });
    };
  }

  /** The issuing CA an LDevID of the default profile gets at `now` (what EST hands devices as their CA). */
  issuingCa(now = new Date()): CaRow {
    return this.issuing(now).ca;
  }

  /**
   * What an LDevID of the default profile gets at `now`: its CA, and its notAfter (the profile's,
   * cut to the CA's end when the CA ends first: then a new issuing CA is due). Throws as caFor does.
   */
  issuing(now = new Date()): { ca: CaRow; notAfter: Date; cutShort: boolean } {
    const wanted = wholeSeconds(this.defaults.LDevID.notAfter(now));
    const ca = this.authorities.caFor('issuing', { now: now.getTime(), until: wanted.getTime() });
    const caEnds = new Date(ca.certificate.notAfter);
    return caEnds < wanted ? { ca, notAfter: caEnds, cutShort: true } : { ca, notAfter: wanted, cutShort: false };
  }

  private profile(kind: 'IDevID' | 'LDevID', template?: string): CertificateProfile {
    if (template) {
      const found = this.templates.get(template);
      if (!found) throw new HttpProblem(400, 'unknown-template', `no certificate template named ${template}`);
      return found;
    }
    return this.defaults[kind];
  }
}
