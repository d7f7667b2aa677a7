/**
 * What the ledger's providers open while Nest builds the application (the event store and its
 * threads, the read-model file), so that a start failing before the application exists (another
 * provider throwing) closes them: Nest offers no shutdown of an application it could not create,
 * and an open store keeps the process alive. Once the application exists, its shutdown hooks close them.
 */
export class OpenedResources {
  private readonly closers: Array<() => unknown> = [];

  /**
   * `resource` (or the promise of it), with how to close it remembered. A promise is tracked
   * from the start: Nest builds providers concurrently, so another one may fail while this one
   * is still opening, and it is closed once open.
   */
  add<R>(resource: R, close: (resource: Awaited<R>) => unknown): R {
    this.closers.push(async () => close(await resource));
    return resource;
  }

  /** Closes everything added, last first; a close that fails does not stop the others. */
  async closeAll(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) {
      try {
        await close();
      } catch {
        // the start's own error is the one to report (a resource that failed to open has nothing to close)
      }
    }
  }
}
