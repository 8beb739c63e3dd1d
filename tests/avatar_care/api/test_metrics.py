import time
from pathlib import Path

from fastapi.testclient import TestClient

from avatar_care.app import create_app
from avatar_care.core.config import Settings


def test_metrics_show_the_demo_rooms_motion_in_prometheus_text(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path, metrics_token="m3tr1cs"), demo=True)) as client:
        time.sleep(0.5)  # the demo operator plays about 15 frames
        text = client.get("/metrics", headers={"Authorization": "Bearer m3tr1cs"}).text
    frames = next(
        line for line in text.splitlines() if line.startswith('avatar_care_motion_frames_total{room="demo"}')
    )
    assert int(frames.split()[-1]) >= 5
    assert "# TYPE avatar_care_motion_frames_total counter" in text
    assert "# TYPE avatar_care_motion_packets_filled_total counter" in text
    assert 'avatar_care_hop_ms{room="demo",hop="solve",quantile="0.95"}' in text
    assert 'avatar_care_customers{room="demo"} 0' in text
    # no server capture in the demo room: its figures are there, at zero
    assert 'avatar_care_capture_frames_total{room="demo",outcome="dropped"} 0' in text
    assert 'avatar_care_capture_worker_crashes_total{room="demo"} 0' in text
