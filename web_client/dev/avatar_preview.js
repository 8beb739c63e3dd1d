// A page that shows one avatar in the default room, for checking avatars by eye and by test.
// ?avatar=/assets/avatars/NAME.vrm ; window.avatarCare exposes the state and a hook to apply a pose.
import * as THREE from "three";

import { loadAvatar } from "../room/avatar.js";
import { buildRoomScene } from "../room/scene.js";

const params = new URLSearchParams(location.search);
const url = params.get("avatar") ?? "/assets/avatars/Asian_F_1_Casual.vrm";
const state = { ready: false, error: null, kind: null, bones: [], expressions: [] };
window.avatarCare = state;

const renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
renderer.setSize(innerWidth, innerHeight);
renderer.setPixelRatio(1);
document.body.appendChild(renderer.domElement);
const scene = new THREE.Scene();
scene.background = new THREE.Color("#e9e4dc");
scene.add(buildRoomScene({ brandColor: params.get("color") ?? "#2f6f8f" }));
const camera = new THREE.PerspectiveCamera(35, innerWidth / innerHeight, 0.1, 50);
camera.position.set(0, 1.45, 2.6);
camera.lookAt(0, 1.2, 0);

try {
  const avatar = await loadAvatar(url);
  scene.add(avatar.object3d);
  state.kind = avatar.humanoidKind;
  state.bones = Object.keys(avatar.humanoid.humanBones).filter((b) => avatar.humanoid.getRawBoneNode(b));
  state.expressions = avatar.expressionManager ? avatar.expressionManager.expressions.map((e) => e.expressionName) : [];
  state.applyPose = (pose) => {
    avatar.applyPose(pose);
    avatar.update(1 / 60);
    scene.updateMatrixWorld(true);
    renderer.render(scene, camera);
  };
  state.boneWorldPosition = (name) => {
    const node = avatar.humanoid.getRawBoneNode(name);
    const v = new THREE.Vector3();
    node.getWorldPosition(v);
    return [v.x, v.y, v.z];
  };
  state.applyPose({ bones: {}, expressions: {} });
  state.ready = true;
} catch (err) {
  state.error = String(err?.stack ?? err);
}

renderer.setAnimationLoop(() => renderer.render(scene, camera));
