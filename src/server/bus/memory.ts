import type { Bus, BusEnvelope } from "./bus.js";

/**
 * The one-node bus: delivers synchronously to this process's subscribers,
 * so an event reaches the sockets in the same turn it was committed.
 */
export class MemoryBus implements Bus {
  private readonly handlers = new Set<(envelope: BusEnvelope) => void>();

  publish(envelope: BusEnvelope): void {
    for (const handler of this.handlers) handler(envelope);
  }

  deliverLocally(envelope: BusEnvelope): void {
    this.publish(envelope);
  }

  subscribe(handler: (envelope: BusEnvelope) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async close(): Promise<void> {
    this.handlers.clear();
  }
}
