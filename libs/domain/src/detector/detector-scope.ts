import { InvalidCommand } from '../errors';

/** Which devices a detector may revoke: all, those of some owners, or those of some models. */
export type DetectorScope = { all: true } | { owners: string[] } | { models: string[] };

const MAX_ENTRIES = 100;

const names = (value: unknown, field: string): string[] => {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_ENTRIES) {
    throw new InvalidCommand(`${field} must list 1 to ${MAX_ENTRIES} names`, field);
  }
  for (const name of value) {
    if (typeof name !== 'string' || name.trim().length === 0 || name.length > 256 || /[\u0000-\u001f\u007f]/.test(name)) {
      throw new InvalidCommand(`${field} entries must be non-empty printable strings of at most 256 characters`, field);
    }
  }
  return [...new Set(value as string[])];
};

export const parseDetectorScope = (scope: unknown): DetectorScope => {
  if (typeof scope !== 'object' || scope === null) throw new InvalidCommand('scope must be {all: true}, {owners: [...]} or {models: [...]}', 'scope');
  const keys = Object.keys(scope);
  const s = scope as Record<string, unknown>;
  if (keys.length === 1 && s.all === true) return { all: true };
  if (keys.length === 1 && 'owners' in s) return { owners: names(s.owners, 'scope.owners') };
  if (keys.length === 1 && 'models' in s) return { models: names(s.models, 'scope.models') };
  throw new InvalidCommand('scope must be exactly one of {all: true}, {owners: [...]} or {models: [...]}', 'scope');
};

/** Whether a device, as the registry knows it, is inside the scope. */
export const inDetectorScope = (scope: DetectorScope, device: { owner?: string | null; model: string }): boolean => {
  if ('all' in scope) return true;
  if ('owners' in scope) return device.owner != null && scope.owners.includes(device.owner);
  return scope.models.includes(device.model);
};
