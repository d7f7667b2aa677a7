export * from './runner/projection';
export * from './runner/projection-runner';
export * from './runner/sqlite-projection';
export * from './device-registry/device-registry';
export * from './read-model-db';
export * from './certificate-inventory/certificate-inventory';
export * from './ca-directory/ca-directory';
