/**
 * A Web Worker that analyses JPEG frames for `frames_decode.ts`: the main
 * thread posts {@linkcode DecodeRequest}s (the JPEG's buffer transferred, not
 * copied) and gets {@linkcode DecodeReply}s back.
 *
 * @module
 */

import {
  type AnalysisResult,
  analyzeJpeg,
} from "../../src/jobs/frames/analysis.ts";

/** One frame to analyse. */
export interface DecodeRequest {
  id: number;
  jpeg: Uint8Array;
  width: number;
  height: number;
}

/** The analysis of one frame. */
export interface DecodeReply {
  id: number;
  result: AnalysisResult;
}

const scope = self as unknown as {
  onmessage: (event: MessageEvent<DecodeRequest>) => void;
  postMessage(message: DecodeReply): void;
};

scope.onmessage = (event) => {
  const { id, jpeg, width, height } = event.data;
  const result = analyzeJpeg(jpeg, {
    frame_width: width,
    frame_height: height,
  });
  scope.postMessage({ id, result });
};
