// The consultation rooms a brand chooses from (a room template's `scene`, rooms/templates.py SCENES):
// a warm floor, soft light, and the brand's colour and logo on the wall behind the avatar, which
// stands at the origin facing the customer (toward +Z).
//   boutique: a counter between customer and operator, as across a shop's desk
//   studio:   an open backdrop and a round platform, nothing between the two
//   lounge:   a low table and two armchairs, for a seated conversation
import * as THREE from "three";

export const SCENES = ["boutique", "studio", "lounge"];
export const DEFAULT_BRAND_COLOR = "#2f6f8f";

function box(w, h, d, material, x, y, z) {
  const mesh = new THREE.Mesh(new THREE.BoxGeometry(w, h, d), material);
  mesh.position.set(x, y, z);
  return mesh;
}

// The brand's band and logo on the wall. The band is unlit (MeshBasicMaterial) so that it shows the
// brand's colour as given, whatever the light; it hangs within the customer's first view.
function brandWall(room, brandColor, logoUrl, onLogo) {
  const wall = new THREE.Mesh(new THREE.PlaneGeometry(8, 4), new THREE.MeshStandardMaterial({ color: "#f3efe8", roughness: 1 }));
  wall.position.set(0, 2, -1.6);
  room.add(wall);
  const band = new THREE.Mesh(new THREE.PlaneGeometry(8, 0.3), new THREE.MeshBasicMaterial({ color: brandColor }));
  band.name = "brand-band";
  band.position.set(0, 2.2, -1.59);
  room.add(band);
  if (logoUrl) {
    const texture = new THREE.TextureLoader().load(logoUrl, () => onLogo(true), undefined, () => onLogo(false));
    texture.colorSpace = THREE.SRGBColorSpace;
    const logo = new THREE.Mesh(new THREE.PlaneGeometry(0.7, 0.7), new THREE.MeshBasicMaterial({ map: texture, transparent: true }));
    logo.name = "brand-logo";
    logo.position.set(1.2, 1.6, -1.58);
    room.add(logo);
  }
}

function boutique(room, brandColor) {
  // the counter stands between the avatar and the customer
  const wood = new THREE.MeshStandardMaterial({ color: "#8a6a4f", roughness: 0.6 });
  const top = box(1.8, 0.05, 0.6, new THREE.MeshStandardMaterial({ color: "#ece6dc", roughness: 0.4 }), 0, 0.98, 0.55);
  const body = box(1.7, 0.95, 0.5, wood, 0, 0.475, 0.55);
  const trim = box(1.72, 0.06, 0.52, new THREE.MeshStandardMaterial({ color: brandColor }), 0, 0.9, 0.55);
  top.name = "counter";
  room.add(top, body, trim);
}

function studio(room, brandColor) {
  // a platform under the avatar, ringed in the brand's colour; nothing between them
  const platform = new THREE.Mesh(new THREE.CylinderGeometry(0.9, 0.95, 0.08, 64), new THREE.MeshStandardMaterial({ color: "#f6f3ee", roughness: 0.5 }));
  platform.name = "platform";
  platform.position.set(0, 0.04, 0);
  const ring = new THREE.Mesh(new THREE.TorusGeometry(0.93, 0.02, 8, 64), new THREE.MeshStandardMaterial({ color: brandColor }));
  ring.rotation.x = -Math.PI / 2;
  ring.position.set(0, 0.08, 0);
  room.add(platform, ring);
}

function lounge(room, brandColor) {
  // a low table between them and an armchair behind the avatar, upholstered in the brand's colour
  const wood = new THREE.MeshStandardMaterial({ color: "#6f523b", roughness: 0.6 });
  const table = box(0.9, 0.05, 0.5, wood, 0, 0.45, 0.6);
  table.name = "low-table";
  const leg = box(0.08, 0.42, 0.08, wood, 0, 0.21, 0.6);
  const fabric = new THREE.MeshStandardMaterial({ color: brandColor, roughness: 0.9 });
  const seat = box(0.8, 0.4, 0.7, fabric, 0, 0.2, -0.55);
  const back = box(0.8, 0.6, 0.15, fabric, 0, 0.7, -0.85);
  room.add(table, leg, seat, back);
}

const BUILDERS = { boutique, studio, lounge };

/**
 * @param {{scene?: string, brandColor?: string, logoUrl?: string|null, onLogo?: (loaded: boolean) => void}} options
 *   an unknown scene builds the boutique (an older room's free text); onLogo hears whether the logo loaded
 * @returns {THREE.Group} named "room", with userData.scene the scene built
 */
export function buildRoomScene({ scene = "boutique", brandColor = DEFAULT_BRAND_COLOR, logoUrl = null, onLogo = () => {} } = {}) {
  const built = SCENES.includes(scene) ? scene : "boutique";
  const room = new THREE.Group();
  room.name = "room";
  room.userData.scene = built;
  const floor = new THREE.Mesh(new THREE.CircleGeometry(6, 64), new THREE.MeshStandardMaterial({ color: "#d9d2c5", roughness: 0.9 }));
  floor.rotation.x = -Math.PI / 2;
  room.add(floor);
  brandWall(room, brandColor, logoUrl, onLogo);
  BUILDERS[built](room, brandColor);

  const hemi = new THREE.HemisphereLight("#fff8ee", "#b8a99a", 1.2);
  const key = new THREE.DirectionalLight("#ffffff", 1.4);
  key.position.set(1.5, 3, 3);
  const fill = new THREE.DirectionalLight("#dfe8ff", 0.5);
  fill.position.set(-2, 2, 1);
  room.add(hemi, key, fill);
  return room;
}
