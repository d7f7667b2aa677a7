/** The SoftHSM2 token of tools/softhsm/init-token.sh, when its environment is set. */
export const hsmEnv = (): Record<string, string> | undefined => {
  const { PKCS11_MODULE, HSM_TOKEN_LABEL, HSM_PIN, SOFTHSM2_CONF } = process.env;
  if (PKCS11_MODULE && HSM_TOKEN_LABEL && HSM_PIN && SOFTHSM2_CONF) return { PKCS11_MODULE, HSM_TOKEN_LABEL, HSM_PIN, SOFTHSM2_CONF };
  if (process.env.REQUIRE_HSM === '1') throw new Error('REQUIRE_HSM=1 but PKCS11_MODULE/HSM_TOKEN_LABEL/HSM_PIN/SOFTHSM2_CONF are not set (eval "$(bash tools/softhsm/init-token.sh)")');
  console.log('skipping PKCS#11 variant: no SoftHSM2 token in the environment (eval "$(bash tools/softhsm/init-token.sh)")');
  return undefined;
};
