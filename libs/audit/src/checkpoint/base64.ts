/**
 * Decodes base64 / base64url only in its canonical form. Node's decoder ignores stray
 * characters and the unused low bits of the last symbol, so two different strings can
 * decode to the same bytes; a verifier must not accept a string it would not have written.
 */
export const decodeCanonical = (text: string, alphabet: 'base64' | 'base64url'): Buffer | undefined => {
  const pattern = alphabet === 'base64' ? /^[A-Za-z0-9+/]*={0,2}$/ : /^[A-Za-z0-9_-]*$/;
  if (!pattern.test(text)) return undefined;
  const bytes = Buffer.from(text, alphabet);
  return bytes.toString(alphabet) === text ? bytes : undefined;
};
