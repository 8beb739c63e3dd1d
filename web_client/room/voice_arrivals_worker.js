// The customer's voice arrivals (room/voice_clock.js): an RTCRtpScriptTransform that passes every
// encoded audio frame on at once, untouched, and reports to the page, a few times a second, each
// frame's RTP timestamp and when its packet came off the network (absolute ms:
// performance.timeOrigin + receiveTime, so the page can put it on its own clock). A classic worker
// with no imports. It must never hold or stop the voice: a transform whose stream fails, or a
// worker that never handles the event, leaves the receiver silent for the rest of the call
// (setting the transform back to null did not bring the voice back in Chromium); so the frame
// goes on first, nothing after it may throw, and the page sets the transform only once this
// script has said it runs.

const REPORT_EVERY_MS = 100;

self.onrtctransform = (event) => {
  const { readable, writable, options } = event.transformer;
  let frames = [];
  let reportedAt = 0;
  const timing = new TransformStream({
    transform(frame, controller) {
      controller.enqueue(frame); // first: the voice goes on whatever happens below
      try {
        const meta = frame.getMetadata ? frame.getMetadata() : {};
        const rtp = meta.rtpTimestamp ?? frame.timestamp;
        const now = performance.now();
        // receiveTime is on this worker's clock; a browser that times it otherwise is not trusted
        const received = typeof meta.receiveTime === "number" && Math.abs(now - meta.receiveTime) < 10_000 ? meta.receiveTime : now;
        if (typeof rtp !== "number") return;
        frames.push(rtp, performance.timeOrigin + received);
        if (now - reportedAt >= REPORT_EVERY_MS) {
          postMessage({ id: options?.id, frames });
          frames = [];
          reportedAt = now;
        }
      } catch {
        frames = []; // an arrival not timed is only a measure missed
      }
    },
  });
  readable.pipeThrough(timing).pipeTo(writable).catch(() => {}); // ends with the connection
};

postMessage({ running: true });
