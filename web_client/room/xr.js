// "Enter VR": three.js's VRButton, and the room placed so that a headset's browser puts the
// customer in front of the avatar at conversational distance.
import * as THREE from "three";
import { VRButton } from "three/addons/webxr/VRButton.js";

const CONVERSATION_M = 1.2; // from the customer's eyes to the avatar, as across a desk

/**
 * @param {THREE.WebGLRenderer} renderer
 * @param {HTMLElement} container where the button goes
 * @param {THREE.Object3D} world the room and the avatar, which faces +Z from the origin
 * @param {object} state window.avatarCare: gets xrPresenting and xrAvatarInView
 */
export function addEnterVR(renderer, container, world, state) {
  renderer.xr.enabled = true;
  renderer.xr.setReferenceSpaceType("local-floor");
  const button = VRButton.createButton(renderer);
  button.id = "enter-vr";
  container.appendChild(button);
  const home = world.position.clone();
  const onStart = () => {
    // local-floor puts the customer's feet at the origin looking down -Z: bring the avatar there
    world.position.set(home.x, home.y, home.z - CONVERSATION_M);
    state.xrPresenting = true;
  };
  const onEnd = () => {
    world.position.copy(home);
    state.xrPresenting = false;
    state.xrAvatarInView = false;
  };
  renderer.xr.addEventListener("sessionstart", onStart);
  renderer.xr.addEventListener("sessionend", onEnd);
  const frustum = new THREE.Frustum();
  const matrix = new THREE.Matrix4();
  const head = new THREE.Vector3();
  return {
    /** After a frame: is the avatar's head inside the headset's view? */
    update(avatarObject) {
      if (!renderer.xr.isPresenting) return;
      const cam = renderer.xr.getCamera();
      cam.updateMatrixWorld(true);
      matrix.multiplyMatrices(cam.projectionMatrix, cam.matrixWorldInverse);
      frustum.setFromProjectionMatrix(matrix);
      avatarObject.updateMatrixWorld(true);
      head.set(0, 1.5, 0).applyMatrix4(avatarObject.matrixWorld);
      state.xrAvatarInView = frustum.containsPoint(head);
      state.xrAvatarDistance = head.distanceTo(new THREE.Vector3().setFromMatrixPosition(cam.matrixWorld));
    },
    dispose() {
      renderer.xr.removeEventListener("sessionstart", onStart);
      renderer.xr.removeEventListener("sessionend", onEnd);
      button.remove();
    },
  };
}
