/**
 * Generates the recorded input of the `sessions` job:
 * `fixtures/sessions/sessions.jsonl.gz`, recorded log records of topic
 * `viewing-events` (heartbeats of viewers, keyed by `user_id` as a producer
 * would; the job repartitions by `session_id`). Seeded and deterministic: the
 * same flags write the same bytes.
 *
 * ```sh
 * deno run --allow-write scripts/gen_sessions_fixture.ts [--seed N] [--sessions N] [--out FILE]
 * ```
 *
 * See `fixtures/sessions/README.md` for the format, the distributions and the
 * facts the generator prints.
 *
 * @module
 */

import { createRandom, partitionOf, zipfSampler } from "./gen_views_fixture.ts";
import {
  gzipDeterministic,
  sha256Hex,
  writeFixtureFile,
  type WrittenFixture,
} from "./fixture_gen/gzip.ts";
import {
  distinctIndices,
  logNormal,
  shuffled,
  uniform,
} from "./fixture_gen/random.ts";
import { iso, tableRows, thousands } from "./fixture_gen/format.ts";
import {
  sessionKey,
  type SimulatedSessions,
  simulateSessionWindows,
} from "./fixture_gen/session_windows.ts";
import {
  flagHelp,
  type FlagSpec,
  parseArgs,
  UsageError,
} from "../src/cli/args.ts";

/** Topic the `sessions` job consumes. */
export const SESSIONS_TOPIC = "viewing-events";
/** Default seed of the committed fixture. */
export const DEFAULT_SEED = 20260316;
/** Default number of session ids of the committed fixture. */
export const DEFAULT_SESSIONS = 2_400;
/** Where the committed fixture lives. */
export const DEFAULT_OUT = "fixtures/sessions/sessions.jsonl.gz";

const SECOND_MS = 1_000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;

/** Why a bad record must go to `viewing-events.dead-letter`. */
export const BAD_REASONS = [
  "not-json",
  "not-object",
  "user_id-missing",
  "user_id-empty",
  "program_id-missing",
  "program_id-empty",
  "session_id-missing",
  "session_id-empty",
  "event_time-missing",
  "event_time-bad",
] as const;

/** One reason a record is bad. */
export type BadReason = typeof BAD_REASONS[number];

/** Devices, with the share of session ids that use each. */
export const DEVICES: ReadonlyArray<readonly [string, number]> = [
  ["tv", 0.35],
  ["mobile", 0.3],
  ["web", 0.2],
  ["tablet", 0.1],
  ["console", 0.05],
];

/** How a session's heartbeats write `event_time`; all are accepted event times. */
export const TIME_FORMATS = [
  "iso-millis",
  "epoch-ms",
  "iso-seconds",
  "iso-micros",
  "iso-offset",
] as const;

/** One way of writing `event_time`. */
export type TimeFormat = typeof TIME_FORMATS[number];

const FORMAT_WEIGHTS: Record<TimeFormat, number> = {
  "iso-millis": 0.55,
  "epoch-ms": 0.35,
  "iso-seconds": 0.03,
  "iso-micros": 0.04,
  "iso-offset": 0.03,
};

/** Options of {@linkcode generateSessions}. */
export interface SessionsOptions {
  /** Seed of every random choice. Default: 20260316. */
  seed?: number;
  /** Session ids to generate (some make two sessions). Default: 2,400. */
  sessions?: number;
  /** Earliest session start, epoch ms. Default: 2026-03-14T18:00:00Z. */
  start_ms?: number;
  /** Span in which sessions start and end. Default: 5 h. */
  duration_ms?: number;
  /** Partitions of the topic. Default: 4. */
  partitions?: number;
  /** Distinct users (some watch several sessions). Default: 45 % of `sessions`. */
  users?: number;
  /** Distinct programs (Zipf popularity). Default: 300. */
  programs?: number;
  /**
   * Where nobody watches, as offsets from `start_ms`: no session spans it
   * (nor the 30 s before it) and nothing arrives in it, so the sessions that
   * end just before it close only through the idle advance (or the end of
   * input). Default: 150 min to 154 min.
   */
  blackout_ms?: readonly [number, number];
  /** Session ids with a pause of exactly the gap (one session). Default: 5. */
  exact_gap_pauses?: number;
  /** Session ids with a pause of the gap + 1 ms (two sessions). Default: 5. */
  gap_plus_1ms_pauses?: number;
  /**
   * Session ids with a 61–63 s pause bridged by an out-of-order heartbeat
   * (one session, whatever the order of arrival). Default: 5.
   */
  bridged_pauses?: number;
  /** Chance of a pause after each heartbeat. Default: 1 / 100. */
  pause_rate?: number;
  /** Share of session ids whose last 1–3 heartbeats arrive 2–10 min late. Default: 0.025. */
  late_tail_fraction?: number;
  /** Share of session ids that switch program without a new session. Default: 0.01. */
  program_switch_fraction?: number;
  /** Share of heartbeats followed by a bad record (at least one per reason). Default: 0.001. */
  bad_fraction?: number;
  /** Session gap the sessions are computed for. Default: 60 s. */
  gap_ms?: number;
  /** Out-of-orderness bound of the watermark. Default: 5 s. */
  out_of_orderness_ms?: number;
}

/** What a heartbeat's arrival delay was chosen to show. */
type DelayKind =
  | "normal"
  | "unordered"
  | "beyond-bound"
  | "late-tail"
  | "bridge";

interface Heartbeat {
  session: number;
  /** Index within its session id, in event-time order. */
  index: number;
  event_ms: number;
  arrival_ms: number;
  program_id: string;
  delay_kind: DelayKind;
  micros: number;
  app_version: string | null;
}

interface SessionPlan {
  session_id: string;
  user_id: string;
  /** Partition of `user_id`, the producer's key. */
  partition: number;
  device: string;
  format: TimeFormat;
  offset_minutes: number;
  special: "exact-gap" | "gap-plus-1ms" | "bridged" | null;
  heartbeats: Heartbeat[];
}

interface BadRecord {
  /** The heartbeat whose fields it mangles; it arrives right after it. */
  heartbeat: Heartbeat;
  reason: BadReason;
  variant: number;
}

/** What the generator prints and the README records. */
export interface SessionsStats {
  seed: number;
  lines: number;
  partition_lines: number[];
  heartbeats: number;
  bad_records: number;
  bad_by_reason: Record<BadReason, number>;
  session_ids: number;
  users: number;
  programs: number;
  devices: Record<string, number>;
  time_formats: Record<TimeFormat, number>;
  arrival_ms_first: number;
  arrival_ms_last: number;
  event_ms_min: number;
  event_ms_max: number;
  blackout: [number, number];
  /**
   * Event-time sessions still open when the blackout starts (their end − 1
   * is past the watermark of the last heartbeats before it): without the
   * idle advance they close only when traffic resumes.
   */
  open_at_blackout: number;
  /** Consecutive heartbeats (event time) of a session id at most 6 s apart: min and max gap. */
  regular_gap_ms: [number, number];
  /** Gaps between consecutive heartbeats of a session id, by kind. */
  pauses: {
    short: number;
    exact_gap: number;
    gap_plus_1ms: number;
    long: number;
  };
  bridged_pauses: number;
  /** Session ids of the planted pauses, by kind. */
  special_session_ids: Record<NonNullable<SessionPlan["special"]>, string[]>;
  program_switches: number;
  /** Sessions by event time alone: every valid heartbeat, split where a gap exceeds 60 s. */
  sessions: number;
  session_ids_with_two_or_more: number;
  single_heartbeat_sessions: number;
  stream_duration_ms_median: number;
  stream_duration_ms_max: number;
  /** Valid heartbeats behind their partition's max event time so far. */
  out_of_order: number;
  out_of_order_beyond_bound: number;
  /** Heartbeats whose delay was chosen to make them late (2–10 min, end of a session). */
  late_tail_heartbeats: number;
  /**
   * The job simulated with the watermark after the repartition ("watermark"),
   * that watermark 10 s later, and raised to the arrival clock − bound.
   */
  simulated: Record<string, SimulatedSessions>;
}

/** The recorded lines and their statistics. */
export interface GeneratedSessions {
  lines: string[];
  stats: SessionsStats;
}

/** Generates the recorded `viewing-events` records (one JSON line each). */
export function generateSessions(
  options: SessionsOptions = {},
): GeneratedSessions {
  const {
    seed = DEFAULT_SEED,
    sessions = DEFAULT_SESSIONS,
    start_ms = Date.UTC(2026, 2, 14, 18),
    duration_ms = 5 * HOUR_MS,
    partitions = 4,
    programs = 300,
    blackout_ms = [150 * MINUTE_MS, 154 * MINUTE_MS],
    exact_gap_pauses = 5,
    gap_plus_1ms_pauses = 5,
    bridged_pauses = 5,
    pause_rate = 1 / 100,
    late_tail_fraction = 0.025,
    program_switch_fraction = 0.01,
    bad_fraction = 0.001,
    gap_ms = 60 * SECOND_MS,
    out_of_orderness_ms = 5 * SECOND_MS,
  } = options;
  requirePositiveInteger("sessions", sessions);
  requirePositiveInteger("partitions", partitions);
  const users = options.users ?? Math.max(1, Math.round(sessions * 0.45));
  const random = createRandom(seed);
  const end_ms = start_ms + duration_ms;
  const blackout: [number, number] = [
    start_ms + blackout_ms[0],
    start_ms + blackout_ms[1],
  ];
  const sampleUser = zipfSampler(users, 0.5, random);
  const sampleProgram = zipfSampler(programs, 1.0, random);
  const programIds = shuffled(
    Array.from(
      { length: programs },
      (_, i) => `prog-${String(i + 1).padStart(4, "0")}`,
    ),
    random,
  );
  const userIds = shuffled(
    Array.from(
      { length: users },
      (_, i) => `u-${String(i + 1).padStart(6, "0")}`,
    ),
    random,
  );
  const specials = new Map<number, SessionPlan["special"]>();
  const specialIndices = distinctIndices(
    sessions,
    exact_gap_pauses + gap_plus_1ms_pauses + bridged_pauses,
    random,
  );
  specialIndices.forEach((index, i) => {
    specials.set(
      index,
      i < exact_gap_pauses
        ? "exact-gap"
        : i < exact_gap_pauses + gap_plus_1ms_pauses
        ? "gap-plus-1ms"
        : "bridged",
    );
  });

  const plans: SessionPlan[] = [];
  for (let s = 0; s < sessions; s++) {
    const special = specials.get(s) ?? null;
    const format = special === null ? pickFormat(random) : "iso-millis";
    const program_id = programIds[sampleProgram()]!;
    const user_id = userIds[sampleUser()]!;
    const plan: SessionPlan = {
      session_id: uuid(random),
      user_id,
      partition: partitionOf(user_id, partitions),
      device: pickDevice(random),
      format,
      offset_minutes: [60, -300, 330, 0, -180][Math.floor(random() * 5)]!,
      special,
      heartbeats: [],
    };
    const offsets = special === null
      ? heartbeatOffsets(watchDuration(random), pause_rate, random)
      : specialOffsets(special, gap_ms, random);
    const span_ms = offsets[offsets.length - 1]!;
    const session_start_ms = placeSession(
      span_ms,
      start_ms,
      end_ms,
      blackout,
      random,
    );
    const switch_at = special === null && random() < program_switch_fraction
      ? 1 + Math.floor(random() * Math.max(1, offsets.length - 1))
      : Infinity;
    const switched_program = programIds[sampleProgram()]!;
    for (const offset_ms of offsets) {
      let event_ms = session_start_ms + offset_ms;
      if (inBlackout(event_ms, blackout)) continue;
      if (format === "iso-seconds") event_ms -= event_ms % SECOND_MS;
      const index = plan.heartbeats.length;
      plan.heartbeats.push({
        session: s,
        index,
        event_ms,
        arrival_ms: event_ms,
        program_id: index >= switch_at && switched_program !== program_id
          ? switched_program
          : program_id,
        delay_kind: "normal",
        micros: Math.floor(random() * 1000),
        app_version: random() < 0.01 ? "5.12.0" : null,
      });
    }
    assignDelays(plan, {
      gap_ms,
      end_ms,
      blackout,
      late_tail: special === null && random() < late_tail_fraction,
      random,
    });
    plans.push(plan);
  }

  const heartbeats = plans.flatMap((plan) => plan.heartbeats);
  // Arrival order; ties in the order the heartbeats were generated.
  heartbeats.sort((a, b) =>
    a.arrival_ms - b.arrival_ms || a.session - b.session || a.index - b.index
  );
  // At least one bad record of each reason, even in a small run.
  const bad = pickBadRecords(
    heartbeats,
    Math.max(BAD_REASONS.length, Math.round(heartbeats.length * bad_fraction)),
    random,
  );

  const offsets: number[] = new Array(partitions).fill(0);
  const lines: string[] = [];
  const record = (plan: SessionPlan, value: string, arrival_ms: number) => {
    const { partition } = plan;
    lines.push(JSON.stringify({
      topic: SESSIONS_TOPIC,
      partition,
      offset: offsets[partition]!++,
      key: plan.user_id,
      value,
      timestamp: arrival_ms,
    }));
  };
  for (const heartbeat of heartbeats) {
    const plan = plans[heartbeat.session]!;
    record(plan, payload(plan, heartbeat, null), heartbeat.arrival_ms);
    const mangled = bad.get(heartbeat);
    if (mangled !== undefined) {
      record(plan, payload(plan, heartbeat, mangled), heartbeat.arrival_ms);
    }
  }
  const stats = summarize(plans, heartbeats, [...bad.values()], {
    seed,
    partitions,
    lines: lines.length,
    blackout,
    gap_ms,
    out_of_orderness_ms,
    bridged_pauses: [...specials.values()].filter((k) => k === "bridged")
      .length,
  });
  return { lines, stats };
}

/** Watching time: log-normal, median 3 min, at most 90 min. */
function watchDuration(random: () => number): number {
  return Math.min(90 * MINUTE_MS, logNormal(random, 3 * MINUTE_MS, 1.1));
}

/** A heartbeat gap: 4 s ± 0.6 s. */
function beat(random: () => number): number {
  return 4 * SECOND_MS + Math.floor(uniform(random, -600, 600));
}

/**
 * Event-time offsets of a session id's heartbeats: one every ~4 s while the
 * viewer watches for `watch_ms`; after any heartbeat, with chance
 * `pause_rate`, a pause instead of a beat: 8–55 s, or (at most once per
 * session id, 40 % of pauses) 70 s – 15 min, which ends the session.
 */
function heartbeatOffsets(
  watch_ms: number,
  pause_rate: number,
  random: () => number,
): number[] {
  const offsets = [0];
  let watched_ms = 0;
  let t = 0;
  let long_pause_taken = false;
  while (watched_ms + 4 * SECOND_MS <= watch_ms) {
    let gap = beat(random);
    if (random() < pause_rate) {
      const long: boolean = !long_pause_taken && random() < 0.4;
      long_pause_taken ||= long;
      gap = Math.floor(
        long
          ? uniform(random, 70 * SECOND_MS, 15 * MINUTE_MS)
          : uniform(random, 8 * SECOND_MS, 55 * SECOND_MS),
      );
    } else {
      watched_ms += gap;
    }
    t += gap;
    offsets.push(t);
  }
  return offsets;
}

/**
 * A 3–10 min session with one pause in the middle: exactly `gap_ms`,
 * `gap_ms` + 1 ms, or 61–63 s with a bridging heartbeat halfway (its delay is
 * set by {@linkcode assignDelays}).
 */
function specialOffsets(
  special: NonNullable<SessionPlan["special"]>,
  gap_ms: number,
  random: () => number,
): number[] {
  const beats = Math.floor(uniform(random, 45, 150));
  const middle = Math.floor(beats / 2);
  const offsets = [0];
  let t = 0;
  for (let i = 1; i < beats; i++) {
    if (i === middle) {
      const pause = special === "exact-gap"
        ? gap_ms
        : special === "gap-plus-1ms"
        ? gap_ms + 1
        : Math.floor(uniform(random, 61 * SECOND_MS, 63 * SECOND_MS));
      if (special === "bridged") offsets.push(t + Math.floor(pause / 2));
      t += pause;
    } else {
      t += beat(random);
    }
    offsets.push(t);
  }
  return offsets;
}

/** A start for a session of `span_ms` that avoids the blackout when it can. */
function placeSession(
  span_ms: number,
  start_ms: number,
  end_ms: number,
  blackout: [number, number],
  random: () => number,
): number {
  const room_ms = Math.max(0, end_ms - start_ms - span_ms);
  let session_start_ms = start_ms;
  for (let attempt = 0; attempt < 20; attempt++) {
    session_start_ms = start_ms + Math.floor(random() * room_ms);
    const clear = session_start_ms + span_ms < blackout[0] - 30 * SECOND_MS ||
      session_start_ms >= blackout[1];
    if (clear) break;
  }
  return session_start_ms;
}

/** Whether a heartbeat at `event_ms` would be in the blackout (or the 30 s before it). */
function inBlackout(event_ms: number, blackout: [number, number]): boolean {
  return event_ms >= blackout[0] - 30 * SECOND_MS && event_ms < blackout[1];
}

/**
 * Arrival times: 96.5 % 0–1.5 s after the event, 3 % 1.5–5 s (out of order
 * within the bound), 0.5 % 5–45 s (beyond the bound, but only while the
 * session goes on for 10 s more, so they merge into a live session). A
 * late-tail session id has its last 1–3 heartbeats arrive 2–10 min late
 * (after their session closed), unless that would put them near the
 * blackout or the end. A bridged pause's middle heartbeat arrives just
 * after the heartbeat that ends the pause.
 */
function assignDelays(
  plan: SessionPlan,
  options: {
    gap_ms: number;
    end_ms: number;
    blackout: [number, number];
    late_tail: boolean;
    random: () => number;
  },
): void {
  const { gap_ms, end_ms, blackout, random } = options;
  const beats = plan.heartbeats;
  // Event time of the last heartbeat of each heartbeat's event-time session.
  const segment_end_ms: number[] = new Array(beats.length);
  for (let i = beats.length - 1; i >= 0; i--) {
    const next = beats[i + 1];
    segment_end_ms[i] = next !== undefined &&
        next.event_ms - beats[i]!.event_ms <= gap_ms
      ? segment_end_ms[i + 1]!
      : beats[i]!.event_ms;
  }
  for (let i = 0; i < beats.length; i++) {
    const heartbeat = beats[i]!;
    const roll = random();
    let delay_ms = uniform(random, 0, 1_500);
    let kind: DelayKind = "normal";
    if (plan.special === null && roll < 0.03) {
      delay_ms = uniform(random, 1_500, 5_000);
      kind = "unordered";
    } else if (plan.special === null && roll < 0.035) {
      const beyond_ms = uniform(random, 5_000, 45_000);
      if (heartbeat.event_ms + beyond_ms + 10_000 <= segment_end_ms[i]!) {
        delay_ms = beyond_ms;
        kind = "beyond-bound";
      }
    }
    heartbeat.arrival_ms = heartbeat.event_ms + Math.floor(delay_ms);
    heartbeat.delay_kind = kind;
  }
  if (plan.special === "bridged") {
    // The pause is the only gap over 20 s; its middle heartbeat is the bridge.
    const bridge = beats.findIndex((b, i) =>
      i > 0 && b.event_ms - beats[i - 1]!.event_ms > 20 * SECOND_MS
    );
    const after = beats[bridge + 1]!;
    after.arrival_ms = after.event_ms + Math.floor(uniform(random, 0, 500));
    const middle = beats[bridge]!;
    middle.arrival_ms = after.arrival_ms +
      Math.floor(uniform(random, 200, 1_000));
    middle.delay_kind = "bridge";
  }
  if (options.late_tail) {
    const count = 1 + Math.floor(random() * 3);
    const last = beats.length - 1;
    const first_of_last = beats.findLastIndex((b, i) =>
      i === 0 || b.event_ms - beats[i - 1]!.event_ms > gap_ms
    );
    if (last - first_of_last + 1 < count + 2) return;
    const tail = beats.slice(last - count + 1);
    const delays = tail.map(() =>
      Math.floor(uniform(random, 2 * MINUTE_MS, 10 * MINUTE_MS))
    );
    const clear = tail.every((b, i) => {
      const arrival_ms = b.event_ms + delays[i]!;
      return arrival_ms <= end_ms - 2 * MINUTE_MS &&
        (arrival_ms < blackout[0] - 2 * MINUTE_MS ||
          arrival_ms >= blackout[1] + 5 * MINUTE_MS);
    });
    if (!clear) return;
    tail.forEach((b, i) => {
      b.arrival_ms = b.event_ms + delays[i]!;
      b.delay_kind = "late-tail";
    });
  }
}

function pickFormat(random: () => number): TimeFormat {
  let roll = random();
  for (const format of TIME_FORMATS) {
    roll -= FORMAT_WEIGHTS[format];
    if (roll < 0) return format;
  }
  return "iso-millis";
}

function pickDevice(random: () => number): string {
  let roll = random();
  for (const [device, share] of DEVICES) {
    roll -= share;
    if (roll < 0) return device;
  }
  return DEVICES[0]![0];
}

/** A version-4 UUID drawn from `random`. */
function uuid(random: () => number): string {
  const hex = Array.from(
    { length: 32 },
    () => Math.floor(random() * 16).toString(16),
  );
  hex[12] = "4";
  hex[16] = (8 + Math.floor(random() * 4)).toString(16);
  const h = hex.join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${
    h.slice(16, 20)
  }-${h.slice(20)}`;
}

/** The heartbeat's `event_time` as its session's format writes it. */
function eventTimeField(
  plan: SessionPlan,
  heartbeat: Heartbeat,
): string | number {
  const ms = heartbeat.event_ms;
  const iso = new Date(ms).toISOString();
  switch (plan.format) {
    case "epoch-ms":
      return ms;
    case "iso-millis":
      return iso;
    case "iso-seconds":
      return `${iso.slice(0, 19)}Z`;
    case "iso-micros":
      return `${iso.slice(0, 23)}${String(heartbeat.micros).padStart(3, "0")}Z`;
    case "iso-offset": {
      const minutes = plan.offset_minutes;
      const local = new Date(ms + minutes * MINUTE_MS).toISOString().slice(
        0,
        23,
      );
      const sign = minutes < 0 ? "-" : "+";
      const hh = String(Math.floor(Math.abs(minutes) / 60)).padStart(2, "0");
      const mm = String(Math.abs(minutes) % 60).padStart(2, "0");
      return `${local}${sign}${hh}:${mm}`;
    }
  }
}

/** The message JSON of a heartbeat, or of a bad record made from it. */
function payload(
  plan: SessionPlan,
  heartbeat: Heartbeat,
  bad: BadRecord | null,
): string {
  const fields: Record<string, unknown> = {
    user_id: plan.user_id,
    program_id: heartbeat.program_id,
    session_id: plan.session_id,
    device: plan.device,
    event_time: eventTimeField(plan, heartbeat),
  };
  if (heartbeat.app_version !== null) {
    fields.app_version = heartbeat.app_version;
  }
  if (bad === null) return JSON.stringify(fields);
  const v = bad.variant;
  switch (bad.reason) {
    case "not-json":
      return [
        JSON.stringify(fields).slice(0, 40),
        `user_id=${plan.user_id} session_id=${plan.session_id}`,
        "<html><body>502 Bad Gateway</body></html>",
        "",
        `{'user_id': '${plan.user_id}'}`,
      ][v % 5]!;
    case "not-object":
      return [
        JSON.stringify(Object.values(fields)),
        JSON.stringify(plan.session_id),
        "42",
        "null",
        "true",
      ][v % 5]!;
    case "user_id-missing":
    case "program_id-missing":
    case "session_id-missing":
    case "event_time-missing":
      delete fields[bad.reason.slice(0, bad.reason.lastIndexOf("-"))];
      return JSON.stringify(fields);
    case "user_id-empty":
    case "program_id-empty":
    case "session_id-empty":
      fields[bad.reason.slice(0, bad.reason.lastIndexOf("-"))] = "";
      return JSON.stringify(fields);
    case "event_time-bad":
      fields.event_time = [
        "yesterday",
        "2026-13-45T99:00:00Z",
        "",
        new Date(heartbeat.event_ms).toISOString().replace("T", " "),
        -1,
        true,
        heartbeat.event_ms + 0.5,
      ][v % 7];
      return JSON.stringify(fields);
  }
}

/** Bad records after seeded heartbeats, reasons round-robin in arrival order. */
function pickBadRecords(
  heartbeats: Heartbeat[],
  count: number,
  random: () => number,
): Map<Heartbeat, BadRecord> {
  const positions = distinctIndices(heartbeats.length, count, random).sort((
    a,
    b,
  ) => a - b);
  return new Map(positions.map((position, i) => {
    const heartbeat = heartbeats[position]!;
    return [heartbeat, {
      heartbeat,
      reason: BAD_REASONS[i % BAD_REASONS.length]!,
      variant: Math.floor(i / BAD_REASONS.length),
    }];
  }));
}

function summarize(
  plans: SessionPlan[],
  heartbeats: Heartbeat[],
  bad: BadRecord[],
  options: {
    seed: number;
    partitions: number;
    lines: number;
    blackout: [number, number];
    gap_ms: number;
    out_of_orderness_ms: number;
    bridged_pauses: number;
  },
): SessionsStats {
  const { partitions, gap_ms, out_of_orderness_ms } = options;
  const bad_by_reason = Object.fromEntries(
    BAD_REASONS.map((reason) => [reason, 0]),
  ) as Record<BadReason, number>;
  for (const record of bad) bad_by_reason[record.reason]++;
  const partition_lines: number[] = new Array(partitions).fill(0);
  for (const heartbeat of heartbeats) {
    partition_lines[plans[heartbeat.session]!.partition]!++;
  }
  for (const record of bad) {
    partition_lines[plans[record.heartbeat.session]!.partition]!++;
  }
  const time_formats = Object.fromEntries(
    TIME_FORMATS.map((format) => [format, 0]),
  ) as Record<TimeFormat, number>;
  const devices: Record<string, number> = Object.fromEntries(
    DEVICES.map(([device]) => [device, 0]),
  );
  const pauses = { short: 0, exact_gap: 0, gap_plus_1ms: 0, long: 0 };
  let regular_min = Infinity;
  let regular_max = -Infinity;
  let sessions = 0;
  let with_two = 0;
  let single = 0;
  let program_switches = 0;
  const durations: number[] = [];
  const last_ms_of_sessions: number[] = [];
  const session_keys = new Set<string>();
  const users = new Set<string>();
  const programs = new Set<string>();
  let plans_with_heartbeats = 0;
  for (const plan of plans) {
    const beats = plan.heartbeats;
    if (beats.length === 0) continue;
    plans_with_heartbeats++;
    users.add(plan.user_id);
    devices[plan.device]!++;
    time_formats[plan.format] += beats.length;
    if (beats.some((b) => b.program_id !== beats[0]!.program_id)) {
      program_switches++;
    }
    let first_ms = beats[0]!.event_ms;
    let count = 1;
    let in_id = 1;
    programs.add(beats[0]!.program_id);
    const close = (last_ms: number) => {
      durations.push(last_ms - first_ms);
      last_ms_of_sessions.push(last_ms);
      session_keys.add(sessionKey(plan.session_id, first_ms, last_ms, count));
      if (count === 1) single++;
    };
    for (let i = 1; i < beats.length; i++) {
      const gap = beats[i]!.event_ms - beats[i - 1]!.event_ms;
      programs.add(beats[i]!.program_id);
      if (gap <= 6 * SECOND_MS) {
        regular_min = Math.min(regular_min, gap);
        regular_max = Math.max(regular_max, gap);
      } else if (gap < gap_ms) pauses.short++;
      else if (gap === gap_ms) pauses.exact_gap++;
      else if (gap === gap_ms + 1) pauses.gap_plus_1ms++;
      else pauses.long++;
      if (gap > gap_ms) {
        close(beats[i - 1]!.event_ms);
        first_ms = beats[i]!.event_ms;
        count = 0;
        in_id++;
      }
      count++;
    }
    close(beats[beats.length - 1]!.event_ms);
    sessions += in_id;
    if (in_id >= 2) with_two++;
  }
  durations.sort((a, b) => a - b);
  const max_event_ms: number[] = new Array(partitions).fill(-Infinity);
  let out_of_order = 0;
  let out_of_order_beyond_bound = 0;
  let event_ms_min = Infinity;
  let event_ms_max = -Infinity;
  for (const heartbeat of heartbeats) {
    const partition = plans[heartbeat.session]!.partition;
    const seen_ms = max_event_ms[partition]!;
    if (seen_ms > heartbeat.event_ms) out_of_order++;
    if (seen_ms - heartbeat.event_ms > out_of_orderness_ms) {
      out_of_order_beyond_bound++;
    }
    max_event_ms[partition] = Math.max(seen_ms, heartbeat.event_ms);
    event_ms_min = Math.min(event_ms_min, heartbeat.event_ms);
    event_ms_max = Math.max(event_ms_max, heartbeat.event_ms);
  }
  const [blackout_start_ms] = options.blackout;
  const max_before_ms: number[] = new Array(partitions).fill(-Infinity);
  for (const heartbeat of heartbeats) {
    if (heartbeat.arrival_ms >= blackout_start_ms) break;
    const partition = plans[heartbeat.session]!.partition;
    max_before_ms[partition] = Math.max(
      max_before_ms[partition]!,
      heartbeat.event_ms,
    );
  }
  const watermark_before_ms = Math.min(...max_before_ms) -
    out_of_orderness_ms - 1;
  const open_at_blackout =
    last_ms_of_sessions.filter((last_ms) =>
      last_ms < blackout_start_ms && last_ms + gap_ms - 1 > watermark_before_ms
    ).length;
  const repartitioned = heartbeats.map((h) => ({
    partition: plans[h.session]!.partition,
    session_id: plans[h.session]!.session_id,
    event_ms: h.event_ms,
    arrival_ms: h.arrival_ms,
  }));
  const simulated: Record<string, SimulatedSessions> = {};
  for (
    const [name, watermark_lag_ms, clock_watermark] of [
      ["watermark", 0, false],
      ["watermark 10 s later", 10_000, false],
      ["clock watermark", 0, true],
    ] as const
  ) {
    simulated[name] = simulateSessionWindows(repartitioned, {
      partitions,
      gap_ms,
      out_of_orderness_ms,
      watermark_lag_ms,
      clock_watermark,
    }, session_keys);
  }
  return {
    seed: options.seed,
    lines: options.lines,
    partition_lines,
    heartbeats: heartbeats.length,
    bad_records: bad.length,
    bad_by_reason,
    session_ids: plans_with_heartbeats,
    users: users.size,
    programs: programs.size,
    devices,
    time_formats,
    arrival_ms_first: heartbeats[0]?.arrival_ms ?? 0,
    arrival_ms_last: heartbeats[heartbeats.length - 1]?.arrival_ms ?? 0,
    event_ms_min,
    event_ms_max,
    blackout: options.blackout,
    open_at_blackout,
    regular_gap_ms: [regular_min, regular_max],
    pauses,
    bridged_pauses: options.bridged_pauses,
    special_session_ids: {
      "exact-gap": specialIds(plans, "exact-gap"),
      "gap-plus-1ms": specialIds(plans, "gap-plus-1ms"),
      "bridged": specialIds(plans, "bridged"),
    },
    program_switches,
    sessions,
    session_ids_with_two_or_more: with_two,
    single_heartbeat_sessions: single,
    stream_duration_ms_median: durations[Math.floor(durations.length / 2)] ?? 0,
    stream_duration_ms_max: durations[durations.length - 1] ?? 0,
    out_of_order,
    out_of_order_beyond_bound,
    late_tail_heartbeats: heartbeats.filter((h) => h.delay_kind === "late-tail")
      .length,
    simulated,
  };
}

function specialIds(
  plans: SessionPlan[],
  special: NonNullable<SessionPlan["special"]>,
): string[] {
  return plans.filter((plan) => plan.special === special).map((plan) =>
    plan.session_id
  ).sort();
}

/** Renders `stats` as the lines the generator prints. */
export function formatSessionsStats(stats: SessionsStats): string {
  const seconds = (ms: number) => `${(ms / SECOND_MS).toFixed(3)} s`;
  const rows = [
    `seed                       ${stats.seed}`,
    `lines                      ${stats.lines}`,
    `lines per partition        ${stats.partition_lines.join(" / ")}`,
    `heartbeats (valid)         ${stats.heartbeats}`,
    `bad records                ${stats.bad_records}`,
    ...BAD_REASONS.map((reason) =>
      `  ${reason.padEnd(24)} ${stats.bad_by_reason[reason]}`
    ),
    `session ids                ${stats.session_ids}`,
    `users                      ${stats.users}`,
    `programs                   ${stats.programs}`,
    `devices (session ids)      ${
      Object.entries(stats.devices).map(([d, n]) => `${d}=${n}`).join(" ")
    }`,
    `event_time formats         ${
      TIME_FORMATS.map((f) => `${f}=${stats.time_formats[f]}`).join(" ")
    }`,
    `arrival time span          ${iso(stats.arrival_ms_first)} .. ${
      iso(stats.arrival_ms_last)
    }`,
    `event time span            ${iso(stats.event_ms_min)} .. ${
      iso(stats.event_ms_max)
    }`,
    `blackout (nothing arrives) ${iso(stats.blackout[0])} .. ${
      iso(stats.blackout[1])
    }`,
    `  sessions open at its start ${stats.open_at_blackout}`,
    `regular heartbeat gap      ${seconds(stats.regular_gap_ms[0])} .. ${
      seconds(stats.regular_gap_ms[1])
    }`,
    `pauses 6-60 s              ${stats.pauses.short}`,
    `pauses of exactly 60 s     ${stats.pauses.exact_gap}`,
    `pauses of 60.001 s         ${stats.pauses.gap_plus_1ms}`,
    `pauses over 60.001 s       ${stats.pauses.long}`,
    `bridged 61-63 s pauses     ${stats.bridged_pauses}`,
    ...Object.entries(stats.special_session_ids).map(([kind, ids]) =>
      `  ${kind.padEnd(24)} ${ids.join(" ")}`
    ),
    `program switches           ${stats.program_switches}`,
    `sessions (event time)      ${stats.sessions}`,
    `  ids with 2+ sessions     ${stats.session_ids_with_two_or_more}`,
    `  single heartbeat         ${stats.single_heartbeat_sessions}`,
    `  stream_duration median   ${seconds(stats.stream_duration_ms_median)}`,
    `  stream_duration max      ${seconds(stats.stream_duration_ms_max)}`,
    `out of order               ${stats.out_of_order}`,
    `  beyond the 5 s bound     ${stats.out_of_order_beyond_bound}`,
    `late-tail heartbeats       ${stats.late_tail_heartbeats}`,
    ...Object.entries(stats.simulated).map(([name, sim]) =>
      `simulated, ${
        name.padEnd(20)
      } sessions ${sim.sessions}, late ${sim.late}, differing ${sim.differing_sessions}`
    ),
  ];
  return rows.join("\n");
}

function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot generate the sessions fixture as '${name}' must be a positive integer: current value is ${value}`,
    );
  }
}

/** Defaults of the command line: the committed fixture. */
export const DEFAULTS = {
  seed: DEFAULT_SEED,
  sessions: DEFAULT_SESSIONS,
  out: DEFAULT_OUT,
} as const;

/** Flags of the small run whose SHA-256 the README pins to notice a changed generator. */
export const CHECK_RUN = { seed: 1, sessions: 60 } as const;

/** SHA-256 of the gzipped check run ({@linkcode CHECK_RUN}). */
export async function checkRunSha256(): Promise<string> {
  const { lines } = generateSessions(CHECK_RUN);
  const text = new TextEncoder().encode(lines.join("\n") + "\n");
  return await sha256Hex(gzipDeterministic(text));
}

/** What the command line asked for. */
export interface SessionsFlags {
  seed: number;
  sessions: number;
  out: string;
  /** Where to write the README, or null for none. */
  readme: string | null;
  help: boolean;
}

const FLAG_SPEC: FlagSpec = {
  values: {
    seed: `seed of every random choice (default ${DEFAULT_SEED})`,
    sessions:
      `session ids to generate; some make two sessions (default ${DEFAULT_SESSIONS})`,
    out: `fixture file, gzipped when it ends in .gz (default ${DEFAULT_OUT})`,
    readme:
      "README to write (default: README.md beside the default --out; none when --out is given)",
  },
  booleans: { help: "print this help and exit (also -h)" },
};

/**
 * Parses the generator's arguments, as `scripts/fixture_gen/flags.ts` does
 * for generators counted in messages: the README goes beside the committed
 * fixture only when `--out` is left at its default.
 */
export function parseSessionsFlags(args: readonly string[]): SessionsFlags {
  if (args.includes("-h")) {
    return { ...DEFAULTS, readme: null, help: true };
  }
  const parsed = parseArgs(args, FLAG_SPEC);
  if (parsed.positional.length > 0) {
    throw new UsageError(
      `Cannot parse arguments as every argument must be a --flag: current value is '${
        parsed.positional[0]
      }'`,
    );
  }
  const count = (name: string, fallback: number, minimum: number): number => {
    const text = parsed.values.get(name);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < minimum) {
      throw new UsageError(
        `Cannot parse '--${name}' as it must be an integer of at least ${minimum}: current value is '${text}'`,
      );
    }
    return value;
  };
  const out = parsed.values.get("out") ?? DEFAULT_OUT;
  return {
    seed: count("seed", DEFAULT_SEED, 0),
    sessions: count("sessions", DEFAULT_SESSIONS, 1),
    out,
    readme: parsed.values.get("readme") ??
      (parsed.values.has("out")
        ? null
        : `${DEFAULT_OUT.slice(0, DEFAULT_OUT.lastIndexOf("/") + 1)}README.md`),
    help: parsed.booleans.has("help"),
  };
}

const USAGE =
  "deno run --allow-read --allow-write scripts/gen_sessions_fixture.ts";

const BAD_EXAMPLES: Record<BadReason, string> = {
  "not-json":
    "the first 40 characters of a heartbeat; `user_id=… session_id=…`; `<html><body>502 Bad Gateway</body></html>`; the empty string; `{'user_id': 'u-…'}`",
  "not-object":
    "the five values in a JSON array; the session id as a JSON string; `42`; `null`; `true`",
  "user_id-missing": "field absent",
  "user_id-empty": '`""`',
  "program_id-missing": "field absent",
  "program_id-empty": '`""`',
  "session_id-missing": "field absent",
  "session_id-empty": '`""`',
  "event_time-missing": "field absent",
  "event_time-bad":
    '`"yesterday"`, `"2026-13-45T99:00:00Z"`, `""`, `"2026-03-14 19:00:01.234Z"` (a space), `-1`, `true`, or a fractional epoch',
};

/** The summary table's rows. */
function statRows(stats: SessionsStats): Array<[string, string]> {
  const seconds = (ms: number) => `${(ms / SECOND_MS).toFixed(3)} s`;
  const simulated = stats.simulated["watermark"]!;
  const agree = Object.values(stats.simulated).every((sim) =>
    sim.sessions === simulated.sessions && sim.late === simulated.late &&
    sim.differing_sessions === simulated.differing_sessions
  );
  return [
    ["lines", thousands(stats.lines)],
    [
      "lines per partition 0 / 1 / 2 / 3",
      stats.partition_lines.map(thousands).join(" / "),
    ],
    ["valid heartbeats", thousands(stats.heartbeats)],
    [
      "bad records",
      `${thousands(stats.bad_records)}: ${
        BAD_REASONS.map((r) => `\`${r}\` ${stats.bad_by_reason[r]}`).join(", ")
      }`,
    ],
    [
      "session ids / users / programs",
      `${thousands(stats.session_ids)} / ${thousands(stats.users)} / ${
        thousands(stats.programs)
      }`,
    ],
    [
      "devices (session ids)",
      Object.entries(stats.devices).map(([d, n]) => `${d} ${n}`).join(", "),
    ],
    [
      "`event_time` forms (heartbeats)",
      TIME_FORMATS.map((f) => `${f} ${thousands(stats.time_formats[f])}`)
        .join("; "),
    ],
    [
      "arrival time span",
      `${iso(stats.arrival_ms_first)} .. ${iso(stats.arrival_ms_last)}`,
    ],
    [
      "event time span",
      `${iso(stats.event_ms_min)} .. ${iso(stats.event_ms_max)}`,
    ],
    [
      "blackout (no session, no arrival)",
      `${iso(stats.blackout[0])} .. ${iso(stats.blackout[1])}`,
    ],
    [
      "sessions still open when it starts",
      String(stats.open_at_blackout),
    ],
    [
      "regular heartbeat gap",
      `${seconds(stats.regular_gap_ms[0])} .. ${
        seconds(stats.regular_gap_ms[1])
      } (whole-second timestamps included)`,
    ],
    [
      "pauses (gaps between consecutive heartbeats of a session id)",
      `6–60 s: ${
        thousands(stats.pauses.short)
      }; exactly 60 s: ${stats.pauses.exact_gap}; exactly 60.001 s: ${stats.pauses.gap_plus_1ms}; over 60.001 s: ${
        thousands(stats.pauses.long)
      }`,
    ],
    ["bridged 61–63 s pauses", String(stats.bridged_pauses)],
    ["session ids switching program", String(stats.program_switches)],
    ["**sessions by event time**", `**${thousands(stats.sessions)}**`],
    [
      "session ids with two or more sessions",
      thousands(stats.session_ids_with_two_or_more),
    ],
    ["sessions of a single heartbeat", String(stats.single_heartbeat_sessions)],
    [
      "`stream_duration` median / max",
      `${seconds(stats.stream_duration_ms_median)} / ${
        seconds(stats.stream_duration_ms_max)
      }`,
    ],
    [
      "out of order (behind the partition's max so far)",
      thousands(stats.out_of_order),
    ],
    ["… more than 5 s behind", thousands(stats.out_of_order_beyond_bound)],
    ["late-tail heartbeats (planted)", String(stats.late_tail_heartbeats)],
    [
      "**late heartbeats** (approximate, see above)",
      `**${thousands(simulated.late)}**${
        agree
          ? ""
          : " (the three watermarks disagree: see the generator's output)"
      }`,
    ],
    [
      "sessions the job emits (approximate)",
      `${thousands(simulated.sessions)}, of which ${
        thousands(simulated.differing_sessions)
      } differ from the event-time ones (a late tail missing)`,
    ],
  ];
}

/** The README of a fixture written with `flags`. */
export function readme(
  stats: SessionsStats,
  written: WrittenFixture,
  flags: Pick<SessionsFlags, "seed" | "sessions" | "out">,
  example: string,
  check_sha256: string,
): string {
  const file = flags.out.slice(flags.out.lastIndexOf("/") + 1);
  const badRows = BAD_REASONS.map((reason) =>
    `| \`${reason}\` | ${BAD_EXAMPLES[reason]} | ${
      stats.bad_by_reason[reason]
    } |`
  ).join("\n");
  const specials = Object.entries(stats.special_session_ids).map((
    [kind, ids],
  ) => `${kind}:\n${ids.map((id) => `  ${id}`).join("\n")}`).join("\n");
  return `# \`sessions\` fixture

Recorded input of the \`sessions\` job (issue 11): topic \`${SESSIONS_TOPIC}\`,
heartbeats of viewers keyed by \`user_id\` (the producer's choice; the job
repartitions by \`session_id\`), written by \`scripts/gen_sessions_fixture.ts\`.
Generated, README included: do not edit by hand, regenerate.

| file | lines | format |
|---|---|---|
| \`${file}\` | ${
    thousands(stats.lines)
  } | recorded log records, one JSON line each, arrival order, gzipped |

## Regenerate

\`\`\`sh
${USAGE}
${USAGE} --seed 7 --sessions 100 --out /tmp/sessions.jsonl.gz
\`\`\`

| flag | default | meaning |
|---|---|---|
| \`--seed N\` | \`${DEFAULT_SEED}\` | seed of every random choice |
| \`--sessions N\` | \`${DEFAULT_SESSIONS}\` | session ids (some make two sessions) |
| \`--out FILE\` | \`${DEFAULT_OUT}\` | fixture file; gzipped when it ends in \`.gz\` |
| \`--readme FILE\` | this README when \`--out\` is left alone | README to write |

The output is a pure function of the flags: two runs give identical bytes.
Gzip is written by fflate (pinned in \`deno.json\`) at level 9 with a zero time
in its header, so the compressed bytes do not depend on the Deno version
either; the readers gunzip any file that starts with the gzip magic bytes.

This file (seed ${flags.seed}, ${thousands(flags.sessions)} session ids):

| | bytes | SHA-256 |
|---|---|---|
| \`${file}\` | ${thousands(written.bytes)} | \`${written.sha256}\` |
| its JSON Lines text (gunzipped) | ${
    thousands(written.text_bytes)
  } | \`${written.text_sha256}\` |

\`\`\`
${written.sha256}  ${file}
${check_sha256}  check run --seed ${CHECK_RUN.seed} --sessions ${CHECK_RUN.sessions}
\`\`\`

The check run is small: its unit test regenerates it in a moment, so a changed
generator is noticed even though regenerating this file takes longer.

## Line format

Each line is one \`LogRecord\` (\`src/ports.ts\`) as compact JSON, fields in
this order, as in \`fixtures/views/README.md\`:

\`\`\`json
${example}
\`\`\`

- \`key\`: the heartbeat's \`user_id\`. Bad records are keyed as their good
  version would have been: the job must judge the payload, never the key.
- \`partition\`: FNV-1a 32-bit of the key's UTF-8 bytes mod 4 (the rule and
  test vectors are in \`fixtures/views/README.md\`). A user's heartbeats, and
  so each session's, share a partition; after the repartition by
  \`session_id\` the watermark is the minimum over all 4.
- \`offset\`: 0, 1, 2, ... per partition in line order; \`timestamp\`: arrival
  time, epoch ms, non-decreasing over the file (partitions interleaved).
- \`value\`: the heartbeat as a JSON string, e.g.

\`\`\`json
{"user_id":"u-000841","program_id":"prog-0269","session_id":"173dac22-bbc9-4736-b8a4-5fd2f8adf6a4","device":"web","event_time":1773511226535}
{"user_id":"u-000597","program_id":"prog-0007","session_id":"698651a8-af14-4c6b-969d-ce27338ad2fc","device":"tv","event_time":"2026-03-14T15:09:57.580-03:00","app_version":"5.12.0"}
\`\`\`

Payload fields:

- \`session_id\`: a version-4 UUID; \`user_id\`: \`u-000001\` ... (a user may
  watch several sessions, some at the same time on two devices);
  \`program_id\`: \`prog-0001\` ... \`prog-0300\`.
- \`device\`: ${
    DEVICES.map(([d, share]) => `\`${d}\` (${Math.round(share * 100)}%)`).join(
      ", ",
    )
  } of session ids; constant within a session id.
- \`event_time\`: one form per session id, all accepted by \`parseEventTime\`
  (\`src/core/time.ts\`): \`iso-millis\` \`2026-03-14T18:00:03.667Z\` (55%);
  \`epoch-ms\`, a JSON number (35%); \`iso-micros\` \`…:05.208401Z\` (4%;
  truncated to the millisecond); \`iso-seconds\` \`2026-03-14T18:00:20Z\` (3%;
  the event time is that second, so those heartbeats are 3–5 s apart);
  \`iso-offset\` with \`+01:00\`, \`-05:00\`, \`+05:30\`, \`+00:00\` or \`-03:00\`
  and milliseconds (3%).
- About 1% of heartbeats carry an extra \`app_version\` field (to be ignored).
- \`program_id\` changes in the middle of a few session ids (a viewer
  switching program without a new session): a row takes the program of its
  session's first heartbeat.

## Distributions

All drawn from one sfc32 generator seeded through splitmix32 (the views
generator's \`createRandom\`).

- **Session ids**: each watches for a log-normal time (median 3 min, σ 1.1, at
  most 90 min), sending a heartbeat every 4 s ± 0.6 s (uniform, whole ms).
  After any heartbeat, with chance 1/100, a pause instead of a beat: 8–55 s
  (the session goes on), or, at most once per session id and in 40% of
  pauses, 70 s – 15 min (the session id then makes two sessions). Sessions
  start uniformly in 2026-03-14T18:00Z .. 23:00Z (5 h); users are drawn with
  Zipf exponent 0.5, programs with exponent 1.0.
- **Planted pauses** (5 session ids each, 3–10 min long, the pause in the
  middle, every heartbeat arriving 0–1.5 s after its event time):
  - exactly 60 s: one session (\`[t, t+60 s)\` and \`[t+60 s, t+120 s)\`
    touch);
  - 60.001 s: two sessions;
  - 61–63 s, bridged: a heartbeat halfway through the pause arrives 0.2–1 s
    *after* the heartbeat that ends it (and less than 65 s after the one that
    began it, so no watermark can have closed the first part yet): one
    session, whichever order the job sees them in.
- **Blackout**: nobody watches from ${iso(stats.blackout[0])} to ${
    iso(stats.blackout[1])
  } (no
  session spans it or the 30 s before it) and nothing arrives then. The
  sessions still open when it starts close during it only through the idle
  advance; without it they close when traffic resumes.
- **Arrival** = event time + delay: 0–1.5 s (96.5%); 1.5–5 s (3%, out of
  order within the bound); 5–45 s (0.5%), only where the session goes on for
  at least 10 s after the arrival: beyond the bound, but they touch a live
  session, so never late. **Late tails**: in 2.5% of session ids the last 1–3
  heartbeats arrive 2–10 min late, after their session closed (unless that
  would put them within 2 min before or 5 min after the blackout, or in the
  last 2 min: then they stay on time).
- **Bad records**: 0.1% of heartbeats are followed (same arrival time, same
  key) by a bad copy, reasons round-robin and each reason's variants in turn;
  every bad record has exactly one fault. Nothing else is bad: \`device\` is
  always present and no id is a non-string.

| reason | payload (the \`value\` string) | lines |
|---|---|---|
${badRows}

## Sessions and late heartbeats

**Sessions by event time** (the fault-free ideal): per \`session_id\`, every
valid heartbeat sorted by event time, a new session where two consecutive
heartbeats are more than 60 s apart (exactly 60 s joins).

**Late heartbeats.** Session windows are \`[t, t + 60 s)\` per heartbeat and
merge when they overlap or touch. A heartbeat is late (to
\`${SESSIONS_TOPIC}.late\`) when its own window is late, \`t + 60 s − 1 ≤
watermark\`, **and** it touches no live session: a window that merges with a
live session takes that session's end, which is not late (Flink merges
first, then checks lateness). So a heartbeat held back for a while in the
middle of an ongoing session is not late; one that arrives after its session
was emitted is.

The watermark after the repartition by \`session_id\` is the minimum over the 4
source partitions of \`max event time − 5 s − 1 ms\`; when exactly it reaches
the session step depends on the runtime (batches, the internal topic, the
idle advance), so the counts below are **approximate**: the generator replays
the valid heartbeats in arrival order through a model of the session step
(\`simulateSessionWindows\`) with that watermark updated after every
heartbeat, again with it 10 s behind, and again raised to \`arrival time − 5 s
− 1 ms\` before every heartbeat (the furthest an idle advance driven by a
replay's clock could move it). The fixture keeps its cases clear of the
boundaries (late tails are minutes late, planted pauses settle within 65 s,
beyond-bound heartbeats arrive while their session goes on), so the three
agree${
    Object.values(stats.simulated).every((sim) =>
        sim.late === stats.simulated["watermark"]!.late &&
        sim.sessions === stats.simulated["watermark"]!.sessions
      )
      ? ""
      : " (not for this seed: see the generator's output)"
  }.

## Summary (seed ${flags.seed}, ${thousands(flags.sessions)} session ids)

| statistic | value |
|---|---|
${tableRows(statRows(stats))}

Session ids of the planted pauses:

\`\`\`
${specials}
\`\`\`
`;
}

/**
 * Runs the generator with command-line `args`: writes the fixture (and the
 * README) and returns what it prints.
 */
export async function main(args: readonly string[]): Promise<string> {
  const flags = parseSessionsFlags(args);
  if (flags.help) {
    return `Generates the recorded input of the sessions job (see fixtures/sessions/README.md).\n\nUsage: ${USAGE} [flags]\n\nFlags:\n${
      flagHelp(FLAG_SPEC)
    }\n`;
  }
  const { lines, stats } = generateSessions({
    seed: flags.seed,
    sessions: flags.sessions,
  });
  const written = await writeFixtureFile(flags.out, lines);
  const printed = [
    `wrote ${flags.out} (${
      thousands(written.bytes)
    } bytes, sha256 ${written.sha256})`,
  ];
  if (flags.readme !== null) {
    await Deno.writeTextFile(
      flags.readme,
      readme(stats, written, flags, lines[0]!, await checkRunSha256()),
    );
    printed.push(`wrote ${flags.readme}`);
  }
  printed.push(formatSessionsStats(stats));
  return printed.join("\n");
}

if (import.meta.main) {
  try {
    console.log(await main(Deno.args));
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof RangeError)) {
      throw error;
    }
    console.error(error.message);
    Deno.exit(2);
  }
}
