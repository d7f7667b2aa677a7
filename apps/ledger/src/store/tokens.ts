/** Injection tokens of the ports the ledger wires to adapters. */
export const EVENT_STORE = Symbol('EVENT_STORE');
export const READ_MODEL_DB = Symbol('READ_MODEL_DB');
