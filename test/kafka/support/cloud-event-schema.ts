import { z } from 'zod';

/** What the lifecycle topic promises: a CloudEvents 1.0 structured-mode JSON document. */
export const lifecycleCloudEvent = z.strictObject({
  specversion: z.literal('1.0'),
  id: z.uuid(),
  source: z.string().min(1),
  type: z.string().regex(/^io\.devid\.[a-z-]+\.[a-z]+\.v\d+$/),
  subject: z.string().min(1),
  time: z.iso.datetime({ offset: true }),
  datacontenttype: z.literal('application/json'),
  data: z.record(z.string(), z.unknown()),
  streamid: z.string().min(1),
  revision: z.string().regex(/^\d+$/),
  position: z.string().regex(/^\d+$/),
  correlationid: z.string().optional(),
});
