"""Room workers: live rooms run in processes of their own, reached through the API's signaling
(docs/scale.md, "Room workers"). ``registry``: a worker's row and heartbeat; ``placement``: which
worker runs a room; ``proxy``: the API process relaying a page's signaling to that worker;
``local``: the workers ``avatar-care serve --workers N`` starts and keeps running."""
