/** The envelope every client receives for a domain event. */
import { EventTypeSchema, PrioritySchema, SourceSchema, TenantIdSchema } from './catalog.js';
import type { Envelope } from './protocol.js';
import * as z from './zod.js';

export const EnvelopeSchema = z.object({
  /** The EventBridge detail-type, dot notation. */
  type: EventTypeSchema,
  /** The EventBridge detail, unchanged but for the reserved `audience` and `priority` keys. */
  data: z.record(z.string(), z.unknown()),
  /** Event time, ISO 8601. */
  timestamp: z.iso.datetime(),
  /** Stable id: the same for every delivery of one EventBridge event; a resume point. */
  eventId: z.string().check(z.minLength(1)),
  tenantId: TenantIdSchema,
  /** The EventBridge `source` (absent only on events logged before sources were recorded). */
  source: z.exactOptional(SourceSchema),
  /** `detail.priority`, `normal` by default (absent only on older logged events: `normal`). */
  priority: z.exactOptional(PrioritySchema),
});

/** The schema and the plain `Envelope` type of `protocol.ts` describe the same object. */
export type EnvelopeSchemaMatches = z.infer<typeof EnvelopeSchema> extends Envelope ? true : never;
