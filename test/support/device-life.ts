/** The whole life of one device as REST commands, in order: manufacture is done separately (POST /devices). */
export const DEVICE_LIFE = [
  ['ship', { owner: 'acme' }],
  ['enroll', {}],
  ['transfer', { newOwner: 'globex' }],
  ['enroll', {}],
  ['revoke', { reason: 'keyCompromise' }],
  ['reinstate', {}],
  ['decommission', { reason: 'end of life' }],
] as const;
