import { z } from 'zod';
import { attributeOid, type NameAttribute } from './distinguished-name';
import { PkiConfigurationError } from './errors';
import type { Extension } from '@peculiar/asn1-x509';
import {
  KeyUsageFlags,
  OID_KP_CLIENT_AUTH,
  basicConstraintsExtension,
  certificatePoliciesExtension,
  extendedKeyUsageExtension,
  keyUsageExtension,
  subjectAltNameUrisExtension,
} from './extensions';
import { NO_WELL_DEFINED_EXPIRATION, addDays } from './validity';

/** The device a certificate is issued to. */
export interface DeviceIdentity {
  deviceId: string;
  /** The manufacturer's serial number; required for IDevIDs. */
  serialNumber?: string;
}

/** What a profile decides about an end-entity certificate for a device (its notAfter: CertificateProfile.notAfter); the issuer adds AKI/SKI and URLs. */
export interface ProfileDecision {
  subject: NameAttribute[];
  extensions: Extension[];
}

export interface CertificateProfile {
  readonly name: string;
  /** The notAfter this profile asks for at `now` (before it is cut to the CA's). */
  notAfter(now: Date): Date;
  apply(device: DeviceIdentity, now: Date): ProfileDecision;
}

const OID = z.string().regex(/^[0-2](\.(0|[1-9][0-9]*))+$/, 'must be a dotted OID');

/** A custom template as kept in a JSON configuration file. */
export const certificateTemplateSchema = z
  .object({
    name: z.string().min(1).max(64),
    base: z.enum(['IDevID', 'LDevID']),
    /** LDevID only; IDevIDs always carry 99991231235959Z. */
    validityDays: z.number().int().min(1).max(36_500).optional(),
    /** Added after the base subject; values may use {deviceId} and {serialNumber}. */
    subject: z.array(z.object({ type: z.string().min(1), value: z.string().min(1).max(64) }).strict()).max(8).default([]),
    sanUris: z.array(z.string().min(1).max(512)).max(8).default([]),
    policies: z.array(OID).max(8).default([]),
    extendedKeyUsages: z.array(OID).max(8).optional(),
  })
  .strict();
export type CertificateTemplate = z.input<typeof certificateTemplateSchema>;

export interface BaseProfileOptions {
  /** Attributes placed before the device's own (e.g. O, OU), with {deviceId}/{serialNumber} placeholders. */
  subject?: NameAttribute[];
  sanUris?: string[];
  policies?: string[];
  /** IDevID default: none (IEEE 802.1AR); LDevID default: clientAuth. */
  extendedKeyUsages?: string[];
}

/** IEEE 802.1AR IDevID: serialNumber attribute, no expiration, digitalSignature only, not a CA. */
export function idevidProfile(options: BaseProfileOptions = {}): CertificateProfile {
  return {
    name: 'IDevID',
    notAfter: () => NO_WELL_DEFINED_EXPIRATION,
    apply(device) {
      if (!device.serialNumber) throw new PkiConfigurationError(`IDevID for ${device.deviceId} needs the device serial number`);
      return {
        subject: [...expand(options.subject ?? [], device), { type: 'CN', value: device.deviceId }, { type: 'serialNumber', value: device.serialNumber }],
        extensions: endEntityExtensions(options, device, []),
      };
    },
  };
}

/** LDevID for the owner's domain: CN = deviceId, default one year, clientAuth. */
export function ldevidProfile(options: BaseProfileOptions & { validityDays?: number } = {}): CertificateProfile {
  const validityDays = options.validityDays ?? 365;
  return {
    name: 'LDevID',
    notAfter: (now) => addDays(now, validityDays),
    apply(device) {
      return {
        subject: [...expand(options.subject ?? [], device), { type: 'CN', value: device.deviceId }],
        extensions: endEntityExtensions(options, device, [OID_KP_CLIENT_AUTH]),
      };
    },
  };
}

/** A profile from a JSON template; throws PkiConfigurationError naming every invalid field. */
export function profileFromTemplate(template: unknown): CertificateProfile {
  const parsed = certificateTemplateSchema.safeParse(template);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
    throw new PkiConfigurationError(`invalid certificate template: ${problems}`);
  }
  const { name, base, validityDays, subject, sanUris, policies, extendedKeyUsages } = parsed.data;
  for (const attribute of subject) attributeOid(attribute.type);
  const options = { subject, sanUris, policies, ...(extendedKeyUsages ? { extendedKeyUsages } : {}) };
  const profile = base === 'IDevID' ? idevidProfile(options) : ldevidProfile({ ...options, ...(validityDays ? { validityDays } : {}) });
  return { name, notAfter: profile.notAfter, apply: profile.apply };
}

function endEntityExtensions(options: BaseProfileOptions, device: DeviceIdentity, defaultEkus: string[]): Extension[] {
  const ekus = options.extendedKeyUsages ?? defaultEkus;
  const { beforeSan, afterSan } = fixedExtensions(ekus, options.policies ?? []);
  const uris = (options.sanUris ?? []).map((uri) => substitute(uri, device));
  return uris.length > 0 ? [...beforeSan, subjectAltNameUrisExtension(uris, false), ...afterSan] : [...beforeSan, ...afterSan];
}

/**
 * The extensions that do not depend on the device, built once per (EKUs, policies): the same
 * objects for every certificate, so issueCertificate encodes them once (it caches by object).
 */
const fixedByShape = new Map<string, { beforeSan: readonly Extension[]; afterSan: readonly Extension[] }>();

function fixedExtensions(ekus: readonly string[], policies: readonly string[]): { beforeSan: readonly Extension[]; afterSan: readonly Extension[] } {
  const key = JSON.stringify([ekus, policies]);
  let fixed = fixedByShape.get(key);
  if (!fixed) {
    const beforeSan = [basicConstraintsExtension(false), keyUsageExtension(KeyUsageFlags.digitalSignature)];
    if (ekus.length > 0) beforeSan.push(extendedKeyUsageExtension(ekus));
    fixed = { beforeSan, afterSan: policies.length > 0 ? [certificatePoliciesExtension(policies)] : [] };
    if (fixedByShape.size < 256) fixedByShape.set(key, fixed);
  }
  return fixed;
}

function expand(attributes: NameAttribute[], device: DeviceIdentity): NameAttribute[] {
  return attributes.map(({ type, value }) => ({ type, value: substitute(value, device) }));
}

function substitute(text: string, device: DeviceIdentity): string {
  return text.replace(/\{(deviceId|serialNumber)\}/g, (_, key: 'deviceId' | 'serialNumber') => {
    const value = device[key];
    if (value === undefined) throw new PkiConfigurationError(`template uses {${key}} but the device has none`);
    return value;
  });
}
