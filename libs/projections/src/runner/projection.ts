import type { ProjectedEvent, StoredEvent } from '@devid/event-store';

interface ProjectionBase {
  readonly name: string;
  /** Position of the last event applied (0 before any). */
  checkpoint(): number;
  /** Drops every row and the checkpoint (the next run rebuilds from position 0). */
  reset(): void;
}

/**
 * A read model fed from the global log. `apply` must store the rows and the checkpoint in
 * one transaction, so a crash leaves either both or neither. It folds events without their
 * metadata (ProjectedEvent): the store then neither reads nor parses it. `apply` is typed as a
 * property so that the compiler refuses a projection whose apply reads StoredEvent here.
 */
export interface DataProjection extends ProjectionBase {
  readonly needsMetadata?: false;
  apply: (events: readonly ProjectedEvent[]) => void;
}

/** A projection that needs each event whole, metadata included (the audit chain hashes it). */
export interface WholeEventProjection extends ProjectionBase {
  readonly needsMetadata: true;
  apply: (events: readonly StoredEvent[]) => void;
}

export type Projection = DataProjection | WholeEventProjection;
