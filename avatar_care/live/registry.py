"""The live rooms of this process, by id."""

from __future__ import annotations

import secrets

from avatar_care.live.room import LiveRoom


class LiveRooms:
    def __init__(self) -> None:
        self.rooms: dict[str, LiveRoom] = {}
        self.operator_keys: dict[str, str] = {}

    def open(self, room_id: str) -> tuple[LiveRoom, str]:
        """Open a room; returns it and the key an operator needs to take it over."""
        room = self.rooms.get(room_id)
        if room is None:
            room = self.rooms[room_id] = LiveRoom(room_id)
            self.operator_keys[room_id] = secrets.token_urlsafe(16)
        return room, self.operator_keys[room_id]

    def get(self, room_id: str) -> LiveRoom | None:
        return self.rooms.get(room_id)

    def operator_may_enter(self, room_id: str, key: str | None) -> bool:
        expected = self.operator_keys.get(room_id)
        return expected is not None and key is not None and secrets.compare_digest(expected, key)

    async def close(self) -> None:
        for room in self.rooms.values():
            await room.close()
        self.rooms.clear()
