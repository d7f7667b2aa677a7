/** PEM armour (RFC 7468) for DER given in base64. */
export const pem = (label: string, derBase64: string): string =>
  `-----BEGIN ${label}-----\n${derBase64.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END ${label}-----\n`;

/** True when the client prefers the DER form (Accept names it before any PEM / JSON type). */
export const wantsDer = (accept: string | undefined, derTypes: string[]): boolean =>
  (accept ?? '').split(',').some((part) => derTypes.includes(part.split(';')[0].trim().toLowerCase()));
