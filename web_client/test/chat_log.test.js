import assert from "node:assert/strict";
import { test } from "node:test";

import { ChatSeen } from "../common/chat_log.js";

const message = (id, text) => ({ session_id: "s1", id, sender: "customer", text, at: "2026-03-09T10:00:00+00:00" });

test("a message that came alone is not shown again when a snapshot holds it", () => {
  const seen = new ChatSeen();
  assert.deepEqual(seen.fresh([message(1, "a"), message(2, "b")]), [message(1, "a"), message(2, "b")]); // the first snapshot
  assert.deepEqual(seen.fresh([message(3, "c")]), [message(3, "c")]); // sent alone
  assert.deepEqual(seen.fresh([message(3, "c")]), []); // told twice: shown once
  // a reconnect's snapshot: the whole chat, of which only what was missed is new
  const snapshot = [message(1, "a"), message(2, "b"), message(3, "c"), message(4, "d"), message(5, "e")];
  assert.deepEqual(seen.fresh(snapshot), [message(4, "d"), message(5, "e")]);
  assert.deepEqual(seen.fresh(snapshot), []);
});
