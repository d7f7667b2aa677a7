import { Gauge, type Registry } from 'prom-client';
import type { Relay } from './relay';

/** `devid_relay_lag_events{topic}`: events stored but not yet acknowledged by the broker. */
export const relayLagGauge = (registry: Registry, relay: Relay): Gauge<'topic'> =>
  new Gauge({
    name: 'devid_relay_lag_events',
    help: 'Events stored but not yet acknowledged by the message broker',
    labelNames: ['topic'],
    registers: [registry],
    async collect() {
      this.set({ topic: relay.topic }, await relay.lag());
    },
  });
