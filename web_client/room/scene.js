// The default consultation room: a warm floor, a counter between customer and operator, soft light,
// and the brand's colour and logo on the wall behind the avatar.
import * as THREE from "three";

export function buildRoomScene({ brandColor = "#2f6f8f", logoUrl = null } = {}) {
  const room = new THREE.Group();
  room.name = "room";
  const floor = new THREE.Mesh(new THREE.CircleGeometry(6, 64), new THREE.MeshStandardMaterial({ color: "#d9d2c5", roughness: 0.9 }));
  floor.rotation.x = -Math.PI / 2;
  room.add(floor);

  const wall = new THREE.Mesh(new THREE.PlaneGeometry(8, 4), new THREE.MeshStandardMaterial({ color: "#f3efe8", roughness: 1 }));
  wall.position.set(0, 2, -1.6);
  room.add(wall);
  const band = new THREE.Mesh(new THREE.PlaneGeometry(8, 0.35), new THREE.MeshStandardMaterial({ color: brandColor }));
  band.position.set(0, 2.6, -1.59);
  room.add(band);
  if (logoUrl) {
    const texture = new THREE.TextureLoader().load(logoUrl);
    texture.colorSpace = THREE.SRGBColorSpace;
    const logo = new THREE.Mesh(new THREE.PlaneGeometry(0.9, 0.9), new THREE.MeshBasicMaterial({ map: texture, transparent: true }));
    logo.position.set(1.6, 2.0, -1.58);
    room.add(logo);
  }

  // the counter stands between the avatar (at the origin) and the customer (toward +Z)
  const wood = new THREE.MeshStandardMaterial({ color: "#8a6a4f", roughness: 0.6 });
  const top = new THREE.Mesh(new THREE.BoxGeometry(1.8, 0.05, 0.6), new THREE.MeshStandardMaterial({ color: "#ece6dc", roughness: 0.4 }));
  top.position.set(0, 0.98, 0.55);
  const body = new THREE.Mesh(new THREE.BoxGeometry(1.7, 0.95, 0.5), wood);
  body.position.set(0, 0.475, 0.55);
  const trim = new THREE.Mesh(new THREE.BoxGeometry(1.72, 0.06, 0.52), new THREE.MeshStandardMaterial({ color: brandColor }));
  trim.position.set(0, 0.9, 0.55);
  room.add(top, body, trim);

  const hemi = new THREE.HemisphereLight("#fff8ee", "#b8a99a", 1.2);
  const key = new THREE.DirectionalLight("#ffffff", 1.4);
  key.position.set(1.5, 3, 3);
  const fill = new THREE.DirectionalLight("#dfe8ff", 0.5);
  fill.position.set(-2, 2, 1);
  room.add(hemi, key, fill);
  return room;
}
