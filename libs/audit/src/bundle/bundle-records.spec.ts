import { eventRecord, eventRecordOrUndefined } from './bundle-records';

const valid = () => ({
  kind: 'event',
  event: {
    data: { owner: 'acme' },
    id: '00000000-0000-4000-8000-000000000001',
    metadata: { actor: 'admin', commandId: 'c' },
    occurredAt: '2025-03-03T10:00:00.000Z',
    position: 7,
    recordedAt: '2025-03-03T10:00:00.123Z',
    revision: 0,
    streamId: 'device-d1',
    type: 'DeviceEnrolled',
    version: 1,
  },
  hash: 'ab'.repeat(32),
});

type Mutation = [string, (record: ReturnType<typeof valid> & Record<string, unknown>) => void];
const event = (r: ReturnType<typeof valid>) => r.event as Record<string, unknown>;
const mutations: Mutation[] = [
  ['nothing changed', () => undefined],
  ['data null', (r) => (event(r).data = null)],
  ['data an array', (r) => (event(r).data = [1, 'x'])],
  ['no data member', (r) => delete event(r).data],
  ['an extra event member', (r) => (event(r).extra = 1)],
  ['an extra record member', (r) => (r.extra = 1)],
  ['no hash', (r) => delete (r as Record<string, unknown>).hash],
  ['an upper-case hash', (r) => (r.hash = 'AB'.repeat(32))],
  ['a short hash', (r) => (r.hash = 'ab')],
  ['another kind', (r) => (r.kind = 'run')],
  ['a string position', (r) => (event(r).position = '7')],
  ['position 0', (r) => (event(r).position = 0)],
  ['a fractional version', (r) => (event(r).version = 1.5)],
  ['a negative version', (r) => (event(r).version = -1)],
  ['a negative revision', (r) => (event(r).revision = -1)],
  ['a huge revision', (r) => (event(r).revision = 1e300)],
  ['metadata an array', (r) => (event(r).metadata = [])],
  ['metadata null', (r) => (event(r).metadata = null)],
  ['a numeric id', (r) => (event(r).id = 1)],
  ['a null type', (r) => (event(r).type = null)],
  ['the event an array', (r) => ((r as Record<string, unknown>).event = [])],
  ['a __proto__ member parsed from JSON', (r) => Object.defineProperty(event(r), '__proto__', { value: {}, enumerable: true })],
];

describe('eventRecordOrUndefined (the hand check of event lines)', () => {
  it.each(mutations)('never accepts what eventRecord refuses, and accepts the common form: %s', (_name, mutate) => {
    const record = valid() as ReturnType<typeof valid> & Record<string, unknown>;
    mutate(record);
    const byHand = eventRecordOrUndefined(record);
    if (byHand !== undefined) {
      expect(eventRecord.safeParse(record).success).toBe(true);
      expect(byHand).toBe(record);
    }
  });

  it('accepts a valid record and one parsed from its JSON', () => {
    expect(eventRecordOrUndefined(valid())).toBeDefined();
    expect(eventRecordOrUndefined(JSON.parse(JSON.stringify(valid())))).toBeDefined();
    expect(eventRecordOrUndefined({ ...valid(), hash: 'zz'.repeat(32) })).toBeUndefined();
  });
});
