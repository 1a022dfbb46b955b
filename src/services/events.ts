/**
 * The event feed operators and scripts follow (GET /v1/events as
 * server-sent events, `shadowtap events --follow`): what happened to the data
 * plane (restarts, exits, failures), the offload (fallbacks to software) and
 * the policy (a new generation), faults (created, started, stopped, deleted)
 * and experiments (running, completed, stopped, aborted with the reason).
 *
 * Events are numbered; the last few hundred are kept so a client that
 * reconnects with Last-Event-ID misses nothing that is still kept.
 */
import { EventEmitter } from 'node:events';

export const EVENT_TYPES = ['state', 'ready', 'exited', 'restarting', 'failed', 'policy', 'offload', 'fallback', 'crash', 'forwardOnly', 'detection', 'fault', 'experiment', 'alert'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface FeedEvent {
  /** increases by one per event, from 1 */
  id: number;
  type: EventType;
  /** ISO time */
  at: string;
  data: Record<string, unknown>;
}

/** What routes read (a fake in route tests may leave it out: 503). */
export interface EventSource {
  /** events kept with id > after, oldest first */
  since(after: number): FeedEvent[];
  /** call fn for every new event; returns the unsubscribe function */
  subscribe(fn: (e: FeedEvent) => void): () => void;
}

export class EventFeed implements EventSource {
  private readonly kept: FeedEvent[] = [];
  private next = 1;
  private readonly bus = new EventEmitter();

  constructor(private readonly keep = 512) {
    // One listener per connected client.
    this.bus.setMaxListeners(0);
  }

  publish(type: EventType, data: Record<string, unknown>): FeedEvent {
    const e: FeedEvent = { id: this.next++, type, at: new Date().toISOString(), data: JSON.parse(JSON.stringify(data ?? {})) as Record<string, unknown> };
    this.kept.push(e);
    if (this.kept.length > this.keep) this.kept.shift();
    this.bus.emit('event', e);
    return e;
  }

  since(after: number): FeedEvent[] {
    return this.kept.filter((e) => e.id > after);
  }

  subscribe(fn: (e: FeedEvent) => void): () => void {
    this.bus.on('event', fn);
    return () => this.bus.off('event', fn);
  }
}
