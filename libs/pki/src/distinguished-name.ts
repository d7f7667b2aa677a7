import { AsnConvert } from '@peculiar/asn1-schema';
import { AttributeTypeAndValue, AttributeValue, Name, RelativeDistinguishedName } from '@peculiar/asn1-x509';
import { tlv } from './der';
import { PkiConfigurationError } from './errors';

export interface NameAttribute {
  /** A short name (CN, serialNumber, O, OU, C, L, ST, dnQualifier) or a dotted OID. */
  type: string;
  value: string;
}

export const NAME_OIDS: Readonly<Record<string, string>> = {
  CN: '2.5.4.3',
  serialNumber: '2.5.4.5',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  dnQualifier: '2.5.4.46',
};

// X.520 defines these as PrintableString only; the others are DirectoryString (UTF8String per RFC 5280).
const PRINTABLE_ONLY = new Set(['2.5.4.5', '2.5.4.6', '2.5.4.46']);
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]+$/;
const OID = /^[0-2](\.(0|[1-9][0-9]*))+$/;

export function attributeOid(type: string): string {
  const oid = NAME_OIDS[type] ?? type;
  if (!OID.test(oid)) throw new PkiConfigurationError(`unknown subject attribute type ${JSON.stringify(type)}`);
  return oid;
}

/** An X.501 Name with one attribute per RDN, in the given order. */
export function buildName(attributes: readonly NameAttribute[]): Name {
  return new Name(
    attributes.map(({ type, value }) => {
      const { oid, printable } = checkedAttribute(type, value);
      const attributeValue = printable ? new AttributeValue({ printableString: value }) : new AttributeValue({ utf8String: value });
      return new RelativeDistinguishedName([new AttributeTypeAndValue({ type: oid, value: attributeValue })]);
    }),
  );
}

/**
 * The DER of `buildName(attributes)`, written by hand: issuance's hot path (one subject per
 * certificate). certificate-der.spec.ts compares it byte for byte with the library's.
 */
export function encodeName(attributes: readonly NameAttribute[]): Uint8Array {
  const encoded: Uint8Array[] = [];
  for (const { type, value } of attributes) {
    const { oid, printable } = checkedAttribute(type, value);
    // asn1js refuses lone surrogates in a UTF8String; so does the library path this falls back to.
    if (LONE_SURROGATE.test(value)) return new Uint8Array(AsnConvert.serialize(buildName(attributes)));
    const valueOctets = Buffer.from(value, printable ? 'latin1' : 'utf8');
    encoded.push(tlv(0x31, tlv(0x30, oidDer(oid), tlv(printable ? 0x13 : 0x0c, valueOctets))));
  }
  return tlv(0x30, ...encoded);
}

function checkedAttribute(type: string, value: string): { oid: string; printable: boolean } {
  const oid = attributeOid(type);
  if (value.length === 0 || value.length > 64) throw new PkiConfigurationError(`subject attribute ${type} must have 1 to 64 characters`);
  const printable = PRINTABLE_ONLY.has(oid);
  if (printable && !PRINTABLE.test(value)) throw new PkiConfigurationError(`subject attribute ${type} must be a PrintableString: ${JSON.stringify(value)}`);
  return { oid, printable };
}

const LONE_SURROGATE = /\p{Cs}/u;
const oidCache = new Map<string, Uint8Array>();

/** DER OBJECT IDENTIFIER of a dotted OID (cached: attribute types are few). */
function oidDer(oid: string): Uint8Array {
  let der = oidCache.get(oid);
  if (!der) {
    const arcs = oid.split('.').map(BigInt);
    const octets: number[] = [];
    for (const arc of [arcs[0]! * 40n + arcs[1]!, ...arcs.slice(2)]) {
      const base128: number[] = [Number(arc & 0x7fn)];
      for (let rest = arc >> 7n; rest > 0n; rest >>= 7n) base128.unshift(Number(rest & 0x7fn) | 0x80);
      octets.push(...base128);
    }
    der = tlv(0x06, Uint8Array.from(octets));
    if (oidCache.size < 1024) oidCache.set(oid, der);
  }
  return der;
}

// The short names @peculiar/x509 prints; every other type is printed as its dotted OID.
const TEXT_NAMES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.6': 'C',
};

/**
 * `buildName(attributes)` as text, exactly as @peculiar/x509's `X509Certificate.subject` shows
 * it (the ledger's certificate views), so an issuer need not parse what it just signed.
 */
export function nameText(attributes: readonly NameAttribute[]): string {
  return attributes.map(({ type, value }) => `${TEXT_NAMES[attributeOid(type)] ?? attributeOid(type)}=${escapeText(value)}`).join(', ');
}

/** @peculiar/x509's escaping, quirks included (only the first CR/LF/TAB is hex-escaped). */
function escapeText(value: string): string {
  return value
    .replace(/([,+"\\<>;])/g, '\\$1')
    .replace(/^([ #])/, '\\$1')
    .replace(/([ ]$)/, '\\$1')
    .replace(/([\r\n\t])/, (char) => `\\${Buffer.from(char, 'utf8').toString('hex').toUpperCase()}`);
}

/** Values of the attributes of type `oid` in `name`, in order. */
export function nameAttributeValues(name: Name, oid: string): string[] {
  return name.flatMap((rdn) => rdn.filter((attribute) => attribute.type === oid).map((attribute) => attribute.value.toString()));
}
