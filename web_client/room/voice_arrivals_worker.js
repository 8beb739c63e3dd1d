// The customer's voice arrivals (room/voice_clock.js): an RTCRtpScriptTransform that passes every
// encoded audio frame on at once, untouched, and reports to the page, a few times a second, each
// frame's RTP timestamp and when its packet came off the network (absolute ms:
// performance.timeOrigin + receiveTime, so the page can put it on its own clock). A classic worker
// with no imports: it must never hold the voice.

const REPORT_EVERY_MS = 100;

self.onrtctransform = (event) => {
  const { readable, writable, options } = event.transformer;
  let frames = [];
  let reportedAt = 0;
  const timing = new TransformStream({
    transform(frame, controller) {
      controller.enqueue(frame); // first: the voice goes on whatever happens below
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
    },
  });
  readable.pipeThrough(timing).pipeTo(writable).catch(() => {}); // ends with the connection
};
