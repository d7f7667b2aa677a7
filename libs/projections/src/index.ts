export * from './runner/projection';
export * from './runner/projection-runner';
export * from './device-registry/device-registry';
export * from './read-model-db';
