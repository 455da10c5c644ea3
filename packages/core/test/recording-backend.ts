import { MemoryBackend, MemoryBus } from '../src/index';

/** A memory backend that also records every subscribe and unsubscribe, in order. */
export class RecordingBackend extends MemoryBackend {
  readonly bus: MemoryBus;
  readonly ops: string[] = [];

  constructor(bus: MemoryBus = new MemoryBus()) {
    super({ bus });
    this.bus = bus;
  }

  override async subscribe(topic: string): Promise<void> {
    this.ops.push(`+${topic}`);
    await super.subscribe(topic);
  }

  override async unsubscribe(topic: string): Promise<void> {
    this.ops.push(`-${topic}`);
    await super.unsubscribe(topic);
  }

  /** True when the bus routes `topic` to this backend. */
  subscribed(topic: string): boolean {
    return this.bus.members(topic).has(this);
  }
}
