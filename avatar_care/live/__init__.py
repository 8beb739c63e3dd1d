"""The live room: WebRTC peers, the operator's motion turned into packets for every customer."""
