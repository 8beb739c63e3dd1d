// Loading an avatar and posing it from the motion stream.
// VRM 1.0 and 0.x load through @pixiv/three-vrm; a plain glTF humanoid (Mixamo or Ready Player Me
// names) gets a humanoid built from its bone names, so the same normalized rotations drive all three.
import * as THREE from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";
import { MeshoptDecoder } from "three/addons/libs/meshopt_decoder.module.js";
import { VRMHumanoid, VRMLoaderPlugin, VRMUtils } from "@pixiv/three-vrm";

import { BONES } from "../src/humanoid.js";

const MIXAMO_FINGERS = { Thumb: "Thumb", Index: "Index", Middle: "Middle", Ring: "Ring", Pinky: "Little" };

/** VRM bone name for a node name in the Mixamo / Ready Player Me naming, or undefined. */
export function boneForNodeName(name) {
  const key = name.replace(/^(mixamorig\d*[:_]?|armature[|:/])/i, "").toLowerCase().replace(/[^a-z0-9]/g, "");
  const fixed = {
    hips: "hips", spine: "spine", spine1: "chest", spine2: "upperChest", neck: "neck", head: "head",
    lefteye: "leftEye", righteye: "rightEye",
  };
  if (fixed[key]) return fixed[key];
  for (const [prefix, side] of [["left", "left"], ["right", "right"]]) {
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length);
    const limbs = {
      shoulder: "Shoulder", arm: "UpperArm", forearm: "LowerArm", hand: "Hand", upleg: "UpperLeg", leg: "LowerLeg",
      foot: "Foot", toebase: "Toes",
    };
    if (limbs[rest]) return side + limbs[rest];
    for (const [finger, vrmFinger] of Object.entries(MIXAMO_FINGERS)) {
      const m = rest.match(new RegExp(`^hand${finger.toLowerCase()}([123])$`));
      if (m) {
        const joints = finger === "Thumb" ? ["Metacarpal", "Proximal", "Distal"] : ["Proximal", "Intermediate", "Distal"];
        return side + vrmFinger + joints[Number(m[1]) - 1];
      }
    }
  }
  return BONES.find((b) => b.toLowerCase() === key);
}

function humanoidFromNames(root) {
  const humanBones = {};
  root.traverse((node) => {
    const bone = node.isBone || node.type === "Object3D" ? boneForNodeName(node.name) : undefined;
    if (bone && !humanBones[bone]) humanBones[bone] = { node };
  });
  return new VRMHumanoid(humanBones);
}

const loader = new GLTFLoader();
loader.setMeshoptDecoder(MeshoptDecoder);
loader.register((parser) => new VRMLoaderPlugin(parser));

/**
 * Load an avatar. Returns {object3d, humanoidKind, humanoid, expressionManager, applyPose(pose), update(dt), dispose()}.
 * `pose` has the shape of a decoded motion packet: {bones: {name: [x,y,z,w]}, expressions: {name: w}, hipsPosition}.
 */
export async function loadAvatar(url) {
  const gltf = await loader.loadAsync(url);
  const vrm = gltf.userData.vrm;
  let humanoid;
  let expressionManager = null;
  let humanoidKind;
  const object3d = gltf.scene;
  if (vrm) {
    humanoidKind = vrm.meta?.metaVersion === "0" ? "vrm0" : "vrm1";
    // VRM 0.x faces -Z; this turns it to face +Z, and its normalized bones then take VRM 1.0 rotations.
    if (humanoidKind === "vrm0") VRMUtils.rotateVRM0(vrm);
    humanoid = vrm.humanoid;
    expressionManager = vrm.expressionManager ?? null;
  } else {
    humanoidKind = "glb";
    humanoid = humanoidFromNames(object3d);
    object3d.add(humanoid.normalizedHumanBonesRoot);
  }
  object3d.traverse((o) => {
    if (o.isMesh) o.frustumCulled = false; // skinned meshes move out of their static bounds
  });
  const restHips = humanoid.getNormalizedBoneNode("hips")?.position.clone() ?? new THREE.Vector3();
  // VRM 0.x normalized bones keep 0.x's axes, X and Z flipped against 1.0's (the model faced -Z
  // before rotateVRM0 turned it): a 1.0 rotation (x, y, z, w) is (-x, y, -z, w) there.
  const flip = humanoidKind === "vrm0" ? -1 : 1;

  function applyPose(pose) {
    for (const name of BONES) {
      const node = humanoid.getNormalizedBoneNode(name);
      if (!node) continue;
      const q = pose.bones?.[name];
      if (q) node.quaternion.set(flip * q[0], q[1], flip * q[2], q[3]);
      else node.quaternion.identity(); // a bone left out is at rest
    }
    const hips = humanoid.getNormalizedBoneNode("hips");
    if (hips && pose.hipsPosition) {
      hips.position.set(restHips.x + flip * pose.hipsPosition[0], restHips.y + pose.hipsPosition[1],
        restHips.z + flip * pose.hipsPosition[2]);
    }
    if (expressionManager) {
      for (const expression of expressionManager.expressions) {
        const name = expression.expressionName;
        if (!name.startsWith("look")) expressionManager.setValue(name, pose.expressions?.[name] ?? 0);
      }
    }
    if (vrm?.lookAt && pose.expressions) {
      // The look expressions of the stream turn the eyes through the avatar's own look-at.
      const e = pose.expressions;
      vrm.lookAt.yaw = 30 * ((e.lookLeft ?? 0) - (e.lookRight ?? 0));
      vrm.lookAt.pitch = 25 * ((e.lookUp ?? 0) - (e.lookDown ?? 0));
    }
  }

  function update(dt) {
    if (vrm) vrm.update(dt);
    else humanoid.update();
  }

  function dispose() {
    VRMUtils.deepDispose(object3d);
  }

  return { object3d, humanoidKind, humanoid, expressionManager, vrm: vrm ?? null, applyPose, update, dispose };
}

/**
 * Show the buffered pose for local time `now` on the avatar and publish it on `state` (lastBones,
 * lastExpressions, jitterBufferMs, motionHoldMs), for the pages' animation loops. Returns the pose shown, or null before the
 * first packet.
 */
export function showBufferedPose(avatar, buffer, state, now) {
  const pose = buffer.sample(now);
  if (pose) {
    avatar.applyPose(pose);
    state.lastBones = pose.bones;
    state.lastExpressions = pose.expressions;
    // the buffer's own delay, learned from the arrivals; what it holds on top to stay in step
    // with the voice (room/av_sync.js) is published apart: it follows the voice's buffer, seconds
    // long on a starved machine, and says nothing of the network
    const delay = buffer.delayMs;
    state.jitterBufferMs = delay === null ? null : delay - buffer.extraMs;
    state.motionHoldMs = buffer.extraMs;
  }
  return pose;
}
