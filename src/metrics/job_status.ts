/**
 * What a running job reports about itself, per input partition: the shape of
 * `GET /api/jobs` and the source of the pipeline gauges and counters on
 * `/metrics`. `src/run/status.ts` fills it from the runners; `src/http/`
 * only reads it through a {@linkcode JobsProvider}.
 *
 * Conventions: times are epoch milliseconds, durations milliseconds, rates
 * records per second of processing time; `null` means "not known yet" (no
 * record read, no checkpoint taken), never zero. Totals are counters since the
 * process started (they restart from zero with the process, as Prometheus
 * counters do).
 *
 * @module
 */

/** One input partition of a job, as its owner sees it. */
export interface PartitionStatus {
  /** Input topic. */
  topic: string;
  /** Input partition. */
  partition: number;
  /** Records read per second, averaged over the last seconds (10 s by default). */
  input_rate_per_s: number;
  /** Records written to the job's outputs per second, same window. */
  output_rate_per_s: number;
  /** Records read since the process started. */
  records_in_total: number;
  /** Records written to outputs since the process started. */
  records_out_total: number;
  /** Records a `filter` dropped. */
  filtered_total: number;
  /** Records sent to the late side output (`<topic>.late`). */
  late_total: number;
  /** Records sent to the dead letters (`<topic>.dead-letter`). */
  dead_letter_total: number;
  /** End offset of the partition minus the next offset to read, or `null` before the first poll. */
  consumer_lag_records: number | null;
  /** Current watermark (event time), or `null` before the first record. */
  watermark_ms: number | null;
  /** Processing time minus the watermark, or `null` without a watermark. */
  watermark_delay_ms: number | null;
  /** Time since the last completed checkpoint, or `null` before the first. */
  last_checkpoint_age_ms: number | null;
  /** Duration of the last completed checkpoint, or `null` before the first. */
  last_checkpoint_duration_ms: number | null;
  /** Checkpoints completed since the process started. */
  checkpoints_total: number;
  /** Times this partition's task was restarted (failure or reassignment) since the process started. */
  restarts_total: number;
}

/** One job of this process. */
export interface JobStatus {
  /** The job's name (`views`, `analytics`, ...). */
  job: string;
  /**
   * `running` while it processes, `starting` before its first assignment,
   * `stopped` after a clean end, `failed` after an error that stopped it.
   */
  state: "starting" | "running" | "stopped" | "failed";
  /** The error that stopped it, for `failed`; never holds a secret. */
  error?: string;
  /** Times the whole job was restarted since the process started. */
  restarts_total: number;
  /** The partitions this process owns, in (topic, partition) order. */
  partitions: PartitionStatus[];
}

/** Everything `GET /api/jobs` answers. */
export interface JobsSnapshot {
  /** Processing time the snapshot was taken at. */
  at_ms: number;
  jobs: JobStatus[];
}

/**
 * Answers the current status of every job of the process. Called once per
 * `GET /api/jobs` and once per `/metrics` scrape; keep it cheap (read
 * counters, no I/O) or cache inside.
 */
export type JobsProvider = () => JobsSnapshot | Promise<JobsSnapshot>;
