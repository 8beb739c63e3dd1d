"""Server capture: MediaPipe's holistic landmarker on the operator's video, off the event loop."""
