import { deriveEventId, EVENT_ID_NAMESPACE, uuidV5 } from './event-id';

describe('deriveEventId', () => {
  it('computes RFC 4122 version 5 UUIDs (known vector: www.example.com in the DNS namespace)', () => {
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('hashes the name as UTF-8 and keeps each namespace apart (vectors from Python uuid.uuid5)', () => {
    expect(uuidV5('bücher.example', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('849d4d8f-6c8e-59fa-9721-89ccba396bf9');
    expect(uuidV5('x#0', EVENT_ID_NAMESPACE)).toBe('f4b67b6b-c98b-5dbe-a61e-bcfd64eb9742');
    expect(deriveEventId('x', 0)).toBe('f4b67b6b-c98b-5dbe-a61e-bcfd64eb9742');
  });

  it('refuses a namespace that is not a canonical UUID', () => {
    expect(() => uuidV5('name', '6BA7B810-9DAD-11D1-80B4-00C04FD430C8')).toThrow(TypeError);
    expect(() => uuidV5('name', 'not-a-uuid')).toThrow(TypeError);
  });

  it('is deterministic per command and index, and distinct across both', () => {
    const commandId = '5f0c6c1e-3f8e-4d5e-9c55-0d3c2b7a1e11';
    const ids = [deriveEventId(commandId, 0), deriveEventId(commandId, 1), deriveEventId('another-command', 0)];

    expect(deriveEventId(commandId, 0)).toBe(ids[0]);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ids[0]).toBe(uuidV5(`${commandId}#0`, EVENT_ID_NAMESPACE));
  });

  it('refuses an empty command id or a negative index', () => {
    expect(() => deriveEventId('', 0)).toThrow(TypeError);
    expect(() => deriveEventId('c', -1)).toThrow(TypeError);
  });
});
