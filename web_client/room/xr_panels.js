// In a headset the page's chat and product panel are out of sight: the room shows them as two
// panels beside the avatar, each a canvas drawn as a texture on a plane. They are shown only while
// the customer is in VR (on a screen the page's own chat and product panel are there, readable by
// a screen reader); they are redrawn whenever a message or a product arrives, in VR or not, so
// that entering VR shows the consultation as it is.
import * as THREE from "three";

const PX_PER_M = 800; // canvas pixels per metre of panel: text legible at conversational distance
const CHAT_LINES = 7; // the newest messages that fit on the chat panel
// A message is cut to what a panel can show (12 rows of about 30 characters) before it is wrapped:
// a message may be 4000 characters, and wrapping measures the text word by word.
const MESSAGE_CHARS = 360;

const STRINGS = {
  it: { chat: "Chat", product: "Ti sto mostrando", noChat: "Nessun messaggio per ora", you: "Tu", operator: "Operatore" },
  en: { chat: "Chat", product: "I am showing you", noChat: "No messages yet", you: "You", operator: "Operator" },
};

function panel(name, widthM, heightM) {
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(widthM * PX_PER_M);
  canvas.height = Math.round(heightM * PX_PER_M);
  const texture = new THREE.CanvasTexture(canvas);
  texture.colorSpace = THREE.SRGBColorSpace;
  const mesh = new THREE.Mesh(new THREE.PlaneGeometry(widthM, heightM), new THREE.MeshBasicMaterial({ map: texture, transparent: true }));
  mesh.name = name;
  mesh.visible = false;
  return { canvas, texture, mesh, ctx: canvas.getContext("2d") };
}

// Lines of at most `width` pixels, words kept whole (a word longer than a line is cut).
function wrap(ctx, text, width) {
  const lines = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const next = line ? `${line} ${word}` : word;
    if (ctx.measureText(next).width <= width) line = next;
    else {
      if (line) lines.push(line);
      line = word;
      while (ctx.measureText(line).width > width && line.length > 1) line = line.slice(0, -1);
    }
  }
  if (line) lines.push(line);
  return lines;
}

function background(p, brandColor) {
  const { ctx, canvas } = p;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = "rgba(255, 255, 255, 0.92)";
  ctx.beginPath();
  ctx.roundRect(0, 0, canvas.width, canvas.height, 24);
  ctx.fill();
  ctx.fillStyle = brandColor;
  ctx.fillRect(0, 0, canvas.width, 16);
}

/**
 * @param {THREE.WebGLRenderer} renderer its XR session shows and hides the panels
 * @param {THREE.Object3D} world the room, the avatar at its origin facing +Z
 * @param {object} state window.avatarCare: gets xrPanels, what each panel shows
 * @param {{brandColor: string, lang: string}} options
 */
export function addXrPanels(renderer, world, state, { brandColor, lang }) {
  const chat = panel("xr-chat-panel", 0.7, 0.6);
  const product = panel("xr-product-panel", 0.6, 0.6);
  // beside the avatar, at the customer's eye height, turned toward the customer
  chat.mesh.position.set(-0.72, 1.3, 0.25);
  chat.mesh.rotation.y = 0.45;
  product.mesh.position.set(0.72, 1.3, 0.25);
  product.mesh.rotation.y = -0.45;
  world.add(chat.mesh, product.mesh);
  state.xrPanels = {
    chat: { visible: false, lines: [], title: null, draws: 0, inView: false },
    product: { visible: false, name: null, draws: 0, inView: false },
  };
  const frustum = new THREE.Frustum();
  const matrix = new THREE.Matrix4();
  const centre = new THREE.Vector3();
  let messages = [];
  let shown = null;
  let image = null; // the product's picture, once loaded (null: none, or not drawable)

  function drawChat() {
    const s = STRINGS[lang] ?? STRINGS.en;
    const { ctx, canvas } = chat;
    background(chat, brandColor);
    ctx.fillStyle = "#1b1b1f";
    ctx.font = "bold 40px system-ui, sans-serif";
    ctx.fillText(s.chat, 28, 72);
    ctx.font = "30px system-ui, sans-serif";
    const drawn = [];
    const rows = [];
    for (const m of messages.slice(-CHAT_LINES)) {
      const line = `${m.sender === "operator" ? s.operator : s.you}: ${m.text}`;
      drawn.push(line);
      const cut = line.length > MESSAGE_CHARS ? `${line.slice(0, MESSAGE_CHARS)}…` : line;
      for (const row of wrap(ctx, cut, canvas.width - 56)) rows.push({ row, operator: m.sender === "operator" });
    }
    if (!messages.length) rows.push({ row: s.noChat, operator: false });
    let y = 124;
    for (const { row, operator } of rows.slice(-12)) {
      ctx.fillStyle = operator ? "#0b3d6b" : "#1b1b1f";
      ctx.fillText(row, 28, y);
      y += 38;
    }
    chat.texture.needsUpdate = true;
    state.xrPanels.chat.title = s.chat;
    state.xrPanels.chat.lines = drawn;
    state.xrPanels.chat.draws += 1;
  }

  function drawProduct() {
    const s = STRINGS[lang] ?? STRINGS.en;
    const { ctx, canvas } = product;
    background(product, brandColor);
    ctx.fillStyle = "#1b1b1f";
    ctx.font = "bold 36px system-ui, sans-serif";
    ctx.fillText(s.product, 28, 68);
    if (shown) {
      let y = 110;
      if (image) {
        const side = 260;
        const scale = Math.min(side / image.width, side / image.height);
        ctx.drawImage(image, (canvas.width - image.width * scale) / 2, y, image.width * scale, image.height * scale);
        y += side + 20;
      }
      ctx.font = "32px system-ui, sans-serif";
      for (const row of wrap(ctx, shown.price ? `${shown.name} — ${shown.price}` : shown.name, canvas.width - 56).slice(0, 3)) {
        y += 38;
        ctx.fillText(row, 28, y);
      }
    }
    product.texture.needsUpdate = true;
    state.xrPanels.product.name = shown?.name ?? null;
    state.xrPanels.product.draws += 1;
  }

  function setVisible(inVR) {
    chat.mesh.visible = inVR;
    product.mesh.visible = inVR && shown !== null; // nothing shown: no empty panel in the way
    state.xrPanels.chat.visible = chat.mesh.visible;
    state.xrPanels.product.visible = product.mesh.visible;
    if (!inVR) state.xrPanels.chat.inView = state.xrPanels.product.inView = false;
  }
  const onStart = () => setVisible(true);
  const onEnd = () => setVisible(false);
  renderer.xr.addEventListener("sessionstart", onStart);
  renderer.xr.addEventListener("sessionend", onEnd);
  drawChat();
  drawProduct();

  return {
    /** After a frame in VR: is each shown panel's centre inside the headset's view? */
    update() {
      if (!renderer.xr.isPresenting) return;
      const cam = renderer.xr.getCamera();
      cam.updateMatrixWorld(true);
      matrix.multiplyMatrices(cam.projectionMatrix, cam.matrixWorldInverse);
      frustum.setFromProjectionMatrix(matrix);
      for (const [key, p] of [["chat", chat], ["product", product]]) {
        p.mesh.updateMatrixWorld(true);
        state.xrPanels[key].inView = p.mesh.visible && frustum.containsPoint(centre.setFromMatrixPosition(p.mesh.matrixWorld));
      }
    },
    /** The consultation's messages so far ({sender, text}), oldest first. */
    setChat(list) {
      messages = list;
      drawChat();
    },
    /** The product the operator shows ({name, kind, media_url, price}), or null. */
    setProduct(next) {
      const same = next && shown && next.item_id === shown.item_id && next.media_url === shown.media_url;
      shown = next ?? null;
      if (!same) image = null;
      drawProduct();
      setVisible(renderer.xr.isPresenting);
      if (shown?.kind === "image" && !same) {
        // only a picture the browser may draw into the canvas (this server's, or another's with
        // CORS); any other leaves the panel with the product's name alone
        const img = new Image();
        img.crossOrigin = "anonymous";
        img.onload = () => {
          if (shown?.media_url !== next.media_url) return;
          image = img;
          drawProduct();
        };
        img.src = next.media_url;
      }
    },
    setLanguage(l) {
      lang = l;
      drawChat();
      drawProduct();
    },
    dispose() {
      renderer.xr.removeEventListener("sessionstart", onStart);
      renderer.xr.removeEventListener("sessionend", onEnd);
      for (const p of [chat, product]) {
        world.remove(p.mesh);
        p.texture.dispose();
        p.mesh.geometry.dispose();
        p.mesh.material.dispose();
      }
    },
  };
}
