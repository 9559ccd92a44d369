import assert from "node:assert/strict";
import type { Clock } from "../../src/ports.ts";
import {
  frameId,
  FramePacer,
  InstantClock,
  jpegSize,
} from "../../src/sources/frames/frame.ts";
import { grayJpeg } from "./frames_images.ts";

/** A clock that records its sleeps and moves by them. */
class RecordingClock implements Clock {
  sleeps: number[] = [];
  constructor(public time_ms: number) {}
  now(): number {
    return this.time_ms;
  }
  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.time_ms += ms;
    return Promise.resolve();
  }
}

Deno.test("FramePacer stamps frame n with start + n × 1000 / fps, rounded from the start", async () => {
  const pacer = new FramePacer(3, new InstantClock(10_000));
  const due: number[] = [];
  for (let i = 0; i < 7; i++) due.push(await pacer.next());
  assert.deepEqual(due, [
    10_000,
    10_333,
    10_667,
    11_000,
    11_333,
    11_667,
    12_000,
  ]);
  assert.equal(pacer.index, 7);
});

Deno.test("FramePacer sleeps until each frame is due and not when the consumer is late", async () => {
  const clock = new RecordingClock(0);
  const pacer = new FramePacer(4, clock);
  assert.equal(await pacer.next(), 0);
  assert.equal(await pacer.next(), 250);
  clock.time_ms += 100; // work that took 100 ms
  assert.equal(await pacer.next(), 500);
  clock.time_ms += 400; // a slow consumer: frame 3 (750) is already due
  assert.equal(await pacer.next(), 750);
  assert.deepEqual(clock.sleeps, [250, 150]);
});

Deno.test("FramePacer starts at start_ms when given", async () => {
  const clock = new RecordingClock(1_000);
  const pacer = new FramePacer(2, clock, 5_000);
  assert.equal(await pacer.next(), 5_000);
  assert.equal(await pacer.next(), 5_500);
  assert.deepEqual(clock.sleeps, [4_000, 500]);
});

Deno.test("FramePacer refuses an fps that is not a positive number", () => {
  for (const fps of [0, -1, NaN, Infinity]) {
    assert.throws(
      () => new FramePacer(fps, new InstantClock(0)),
      new RegExp(`'fps' must be a positive number: current value is ${fps}`),
    );
  }
});

Deno.test("frameId() and jpegSize() shape ids and read sizes", () => {
  assert.equal(frameId(123, 1705123456789), "frame_123_1705123456789");
  assert.deepEqual(jpegSize(grayJpeg(16, 8, 1), "test"), {
    width: 16,
    height: 8,
    components: 1,
  });
  assert.throws(
    () => jpegSize(new Uint8Array([1, 2, 3]), "'x.jpg'"),
    /Cannot read frame from 'x.jpg' as it must be a JPEG with a readable header: data is not a JPEG/,
  );
});
