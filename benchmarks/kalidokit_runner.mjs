// Runs Kalidokit 1.1.5 on the frames benchmarks/retarget.py writes, timing each solve in Node.
// Usage: node kalidokit_runner.mjs frames.json out.json
// Input: {frames: [{pose3d: [[x,y,z,v] x33], pose2d: [[x,y,z,v] x33], left: [[x,y,z] x21]|null,
//          right: [[x,y,z] x21]|null, face: [[x,y,z] x478]|null}]}
// Output: {timings_us: [...], results: [{pose: {...}, leftHand: {...}, rightHand: {...}}]}
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

// The package's ES entry imports directories, which Node refuses; its UMD build loads as CommonJS.
const { Pose, Hand, Face } = createRequire(import.meta.url)("kalidokit/dist/kalidokit.umd.js");
const [input, output] = process.argv.slice(2);
const { frames } = JSON.parse(readFileSync(input, "utf8"));
const asPoints = (rows) => rows.map(([x, y, z, v]) => ({ x, y, z, visibility: v ?? 1 }));
const prepared = frames.map((f) => ({
  pose3d: asPoints(f.pose3d),
  pose2d: asPoints(f.pose2d),
  left: f.left && asPoints(f.left),
  right: f.right && asPoints(f.right),
  face: f.face && asPoints(f.face),
}));

// Kalidokit expects a mirrored (selfie) camera: its "Right" hand solver gets the hand that looks
// like a right hand in the image, which is the person's left when the image is not mirrored.
function solveOne(f) {
  const pose = Pose.solve(f.pose3d, f.pose2d, { runtime: "mediapipe", enableLegs: true });
  const rightHand = f.left ? Hand.solve(f.left, "Right") : null;
  const leftHand = f.right ? Hand.solve(f.right, "Left") : null;
  const face = f.face ? Face.solve(f.face, { runtime: "mediapipe", imageSize: { width: 640, height: 480 } }) : null;
  return { pose, leftHand, rightHand, face };
}

// Warm up the JIT, then time every frame several times and keep each frame's fastest run.
for (let i = 0; i < 3; i++) prepared.forEach(solveOne);
const timings = new Array(prepared.length).fill(Infinity);
let results = [];
for (let rep = 0; rep < 5; rep++) {
  results = prepared.map((f, i) => {
    const t0 = process.hrtime.bigint();
    const r = solveOne(f);
    const dt = Number(process.hrtime.bigint() - t0) / 1000;
    if (dt < timings[i]) timings[i] = dt;
    return r;
  });
}
writeFileSync(output, JSON.stringify({ timings_us: timings, results }));
