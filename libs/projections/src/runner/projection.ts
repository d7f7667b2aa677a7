import type { ProjectedEvent } from '@devid/event-store';

/**
 * A read model fed from the global log. `apply` must store the rows and the checkpoint in
 * one transaction, so a crash leaves either both or neither.
 */
export interface Projection {
  readonly name: string;
  /** Position of the last event applied (0 before any). */
  checkpoint(): number;
  apply(events: readonly ProjectedEvent[]): void;
  /** Drops every row and the checkpoint (the next run rebuilds from position 0). */
  reset(): void;
}
