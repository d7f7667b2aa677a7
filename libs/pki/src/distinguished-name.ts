import { AttributeTypeAndValue, AttributeValue, Name, RelativeDistinguishedName } from '@peculiar/asn1-x509';
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
      const oid = attributeOid(type);
      if (value.length === 0 || value.length > 64) throw new PkiConfigurationError(`subject attribute ${type} must have 1 to 64 characters`);
      if (PRINTABLE_ONLY.has(oid) && !PRINTABLE.test(value)) {
        throw new PkiConfigurationError(`subject attribute ${type} must be a PrintableString: ${JSON.stringify(value)}`);
      }
      const attributeValue = PRINTABLE_ONLY.has(oid) ? new AttributeValue({ printableString: value }) : new AttributeValue({ utf8String: value });
      return new RelativeDistinguishedName([new AttributeTypeAndValue({ type: oid, value: attributeValue })]);
    }),
  );
}

/** Values of the attributes of type `oid` in `name`, in order. */
export function nameAttributeValues(name: Name, oid: string): string[] {
  return name.flatMap((rdn) => rdn.filter((attribute) => attribute.type === oid).map((attribute) => attribute.value.toString()));
}
