export * from './detector-key';
export * from './detector-scope';
export * from './detector-events';
export * from './detector-state';
export * from './detector-commands';
export * from './detector-errors';
export * from './decide-detector';
