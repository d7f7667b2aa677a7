import { ECParameters } from '@peculiar/asn1-ecc';
import { AsnArray, AsnConvert, AsnProp, AsnPropTypes, AsnType, AsnTypeTypes } from '@peculiar/asn1-schema';
import { Attribute } from '@peculiar/asn1-x509';

const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const OID_P256 = '1.2.840.10045.3.1.7';
const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const OID_COMMON_NAME = '2.5.4.3';
const OID_SERIAL_NUMBER = '2.5.4.5';

/** AttrOrOID ::= CHOICE { oid OBJECT IDENTIFIER, attribute Attribute } (RFC 7030 §4.5.2) */
@AsnType({ type: AsnTypeTypes.Choice })
export class AttrOrOid {
  @AsnProp({ type: AsnPropTypes.ObjectIdentifier })
  oid?: string;

  @AsnProp({ type: Attribute })
  attribute?: Attribute;

  constructor(params: Partial<AttrOrOid> = {}) {
    Object.assign(this, params);
  }
}

/** CsrAttrs ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID */
@AsnType({ type: AsnTypeTypes.Sequence, itemType: AttrOrOid })
export class CsrAttrs extends AsnArray<AttrOrOid> {
  constructor(items?: AttrOrOid[]) {
    super(items);
    Object.setPrototypeOf(this, CsrAttrs.prototype);
  }
}

/**
 * What the ledger wants in a device CSR: an EC P-256 key (the attribute form of RFC 8295),
 * ECDSA with SHA-256, and a subject naming the device by CN (device id) or serialNumber.
 */
export const csrAttributes = (): Buffer =>
  Buffer.from(
    AsnConvert.serialize(
      new CsrAttrs([
        new AttrOrOid({ attribute: new Attribute({ type: OID_EC_PUBLIC_KEY, values: [AsnConvert.serialize(new ECParameters({ namedCurve: OID_P256 }))] }) }),
        new AttrOrOid({ oid: OID_ECDSA_WITH_SHA256 }),
        new AttrOrOid({ oid: OID_COMMON_NAME }),
        new AttrOrOid({ oid: OID_SERIAL_NUMBER }),
      ]),
    ),
  );
