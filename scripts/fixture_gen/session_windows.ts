/**
 * A model of the `sessions` job's session-window step, for the fixture
 * generator's approximate counts: Flink's event-time session windows after a
 * repartition by session id, fed with valid heartbeats in arrival order.
 *
 * @module
 */

/** What a session-window operator after the repartition emits. */
export interface SimulatedSessions {
  sessions: number;
  late: number;
  /** Emitted sessions that differ from every event-time session. */
  differing_sessions: number;
}

/** One valid heartbeat as the session-window step sees it after the repartition. */
export interface RepartitionedHeartbeat {
  /** Source partition it was read from. */
  partition: number;
  session_id: string;
  event_ms: number;
  /** Arrival time, the clock of a replay. */
  arrival_ms: number;
}

/**
 * Flink's event-time session windows after a repartition, over heartbeats in
 * arrival order: the watermark is the minimum over source partitions of
 * (max event time − bound − 1 ms), minus `watermark_lag_ms` for the delay the
 * repartition adds, updated after every heartbeat; with `clock_watermark`
 * it is also raised to (arrival time − bound − 1 ms) before each heartbeat,
 * the furthest an idle advance driven by the arrival clock could move it.
 * Before each heartbeat, sessions whose `end − 1` the watermark reached fire. A heartbeat's window
 * `[t, t + gap)` merges with every live session of its id it overlaps or
 * touches; if it touches none and `t + gap − 1 ≤ watermark`, it is late. At
 * the end every live session fires. `event_time_sessions` (keys from
 * {@linkcode sessionKey}) lets it count emitted sessions that differ.
 */
export function simulateSessionWindows(
  heartbeats: readonly RepartitionedHeartbeat[],
  options: {
    partitions: number;
    gap_ms: number;
    out_of_orderness_ms: number;
    watermark_lag_ms: number;
    clock_watermark?: boolean;
  },
  event_time_sessions: ReadonlySet<string>,
): SimulatedSessions {
  const { partitions, gap_ms, out_of_orderness_ms, watermark_lag_ms } = options;
  const clock = options.clock_watermark ?? false;
  interface Live {
    session_id: string;
    start: number;
    end: number;
    first_ms: number;
    last_ms: number;
    count: number;
  }
  const max_event_ms: number[] = new Array(partitions).fill(-Infinity);
  const by_id = new Map<string, Live[]>();
  let live: Live[] = [];
  let sessions = 0;
  let late = 0;
  let differing_sessions = 0;
  const emit = (session: Live) => {
    sessions++;
    const key = sessionKey(
      session.session_id,
      session.first_ms,
      session.last_ms,
      session.count,
    );
    if (!event_time_sessions.has(key)) differing_sessions++;
  };
  let watermark = -Infinity;
  for (const heartbeat of heartbeats) {
    if (clock) {
      watermark = Math.max(
        watermark,
        heartbeat.arrival_ms - out_of_orderness_ms - 1,
      );
    }
    if (live.some((s) => s.end - 1 <= watermark)) {
      const still: Live[] = [];
      for (const session of live) {
        if (session.end - 1 <= watermark) {
          emit(session);
          const list = by_id.get(session.session_id)!;
          list.splice(list.indexOf(session), 1);
        } else {
          still.push(session);
        }
      }
      live = still;
    }
    const t = heartbeat.event_ms;
    let list = by_id.get(heartbeat.session_id);
    if (list === undefined) {
      list = [];
      by_id.set(heartbeat.session_id, list);
    }
    const touching = list.filter((s) => s.start <= t + gap_ms && s.end >= t);
    if (touching.length > 0) {
      const merged = touching[0]!;
      for (const other of touching.slice(1)) {
        merged.start = Math.min(merged.start, other.start);
        merged.end = Math.max(merged.end, other.end);
        merged.first_ms = Math.min(merged.first_ms, other.first_ms);
        merged.last_ms = Math.max(merged.last_ms, other.last_ms);
        merged.count += other.count;
        list.splice(list.indexOf(other), 1);
        live.splice(live.indexOf(other), 1);
      }
      merged.start = Math.min(merged.start, t);
      merged.end = Math.max(merged.end, t + gap_ms);
      merged.first_ms = Math.min(merged.first_ms, t);
      merged.last_ms = Math.max(merged.last_ms, t);
      merged.count++;
    } else if (t + gap_ms - 1 <= watermark) {
      late++;
    } else {
      const session: Live = {
        session_id: heartbeat.session_id,
        start: t,
        end: t + gap_ms,
        first_ms: t,
        last_ms: t,
        count: 1,
      };
      list.push(session);
      live.push(session);
    }
    const p = heartbeat.partition;
    max_event_ms[p] = Math.max(max_event_ms[p]!, t);
    watermark = Math.max(
      watermark,
      Math.min(...max_event_ms) - out_of_orderness_ms - 1 - watermark_lag_ms,
    );
  }
  for (const session of live) emit(session);
  return { sessions, late, differing_sessions };
}

/** The key of a session in `event_time_sessions`: id, first and last event time, heartbeats. */
export function sessionKey(
  session_id: string,
  first_ms: number,
  last_ms: number,
  count: number,
): string {
  return `${session_id}\u0000${first_ms}\u0000${last_ms}\u0000${count}`;
}
