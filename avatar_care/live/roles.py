"""Who takes part in a live room, and what each part sends, hears and needs: defined once here.

Signaling (the ``join``'s role), admission (which token lets whom in), the room (which mix a
participant's microphone goes into, which mix their audio line plays, which data channels they
open) and the audit (whether a supervisor's presence is recorded and the customer told) all read
:data:`ROLES`. A new role is one entry here (and its admission, when none of the existing fits).

The room has three *ears*, each a :class:`~avatar_care.live.audio_mix.VoiceMix` (relayed encoded
while one voice speaks, mixed while several do):

- ``operator``: what the operator hears: every customer, and a whispering or barging supervisor;
- ``customers``: what every customer hears: the operator (or the demo's recording), and a barger;
- ``supervisors``: what a listening, whispering or barging supervisor hears: the operator and
  every customer.

So a whisperer's voice reaches the operator only, and a barger's the operator and the customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Role = Literal["customer", "operator", "listener", "whisperer", "barger"]
Ear = Literal["operator", "customers", "supervisors"]
#: How a role is let in: a customer's session token; the token of the operator connected to the
#: room's consultations; a supervisor's token of the room's brand with a recorded grant.
Admission = Literal["session", "room_operator", "supervisor"]
#: Whether the room's customers are told that this participant is there.
Told = Literal["not_applicable", "never", "always", "brand_setting"]


@dataclass(frozen=True)
class RoleSpec:
    role: Role
    admission: Admission
    #: the mixes this participant's microphone goes into (none: the audio line only plays)
    voice_to: tuple[Ear, ...]
    #: the mix this participant's audio line plays
    hears: Ear
    #: the data channels the participant may open, by label (the room refuses others' messages)
    channels: tuple[str, ...]
    #: whether the offer must carry a data channel (pages that show the avatar always open one)
    needs_data_channel: bool
    customer_told: Told
    #: the session event that grants a supervisor this mode (``POST /api/sessions/{id}/{verb}``);
    #: None for the roles a token alone admits
    grant_event: str | None = None
    #: the URL verb that asks for the grant, and what the audit log and the pages call the mode
    verb: str | None = None

    @property
    def sends_voice(self) -> bool:
        return bool(self.voice_to)

    @property
    def supervises(self) -> bool:
        """A supervisor's mode: granted and recorded first, audited at its start and end."""
        return self.admission == "supervisor"


ROLES: dict[Role, RoleSpec] = {
    spec.role: spec
    for spec in (
        RoleSpec(
            "customer",
            admission="session",
            voice_to=("operator", "supervisors"),
            hears="customers",
            channels=("motion",),
            needs_data_channel=True,
            customer_told="not_applicable",
        ),
        RoleSpec(
            "operator",
            admission="room_operator",
            voice_to=("customers", "supervisors"),
            hears="operator",
            channels=("landmarks", "motion"),
            needs_data_channel=True,
            customer_told="not_applicable",
        ),
        RoleSpec(
            "listener",
            admission="supervisor",
            voice_to=(),
            hears="supervisors",
            channels=("motion",),
            needs_data_channel=False,
            customer_told="brand_setting",
            grant_event="supervisor_listening",
            verb="listen",
        ),
        RoleSpec(
            "whisperer",
            admission="supervisor",
            voice_to=("operator",),
            hears="supervisors",
            channels=("motion",),
            needs_data_channel=False,
            customer_told="never",
            grant_event="supervisor_whispering",
            verb="whisper",
        ),
        RoleSpec(
            "barger",
            admission="supervisor",
            voice_to=("operator", "customers"),
            hears="supervisors",
            channels=("motion",),
            needs_data_channel=False,
            customer_told="always",
            grant_event="supervisor_barging",
            verb="barge",
        ),
    )
}
assert set(ROLES) == set(get_args(Role)), "every role has its entry"

SUPERVISING: tuple[Role, ...] = tuple(r for r, spec in ROLES.items() if spec.supervises)
BY_VERB: dict[str, RoleSpec] = {spec.verb: spec for spec in ROLES.values() if spec.verb is not None}


def spec(role: str) -> RoleSpec:
    """The role's entry; a name that is no role raises KeyError."""
    return ROLES[role]  # type: ignore[index]


def customer_told(role: Role, brand_tells_of_listening: bool) -> bool:
    told = ROLES[role].customer_told
    return told == "always" or (told == "brand_setting" and brand_tells_of_listening)
