"""``GET /metrics``'s text: every process's own figures merged into one family per name, each series
labelled with its ``process``, and the queue's figures (the whole desk's, read once)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from avatar_care.live.registry import LiveRooms
from avatar_care.metrics.http_figures import HttpFigures
from avatar_care.metrics.live_rooms import metrics_text
from rooms.desk.queue_figures import BrandQueue

logger = logging.getLogger(__name__)


class _Families(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self.families


def exposition(families: Iterable[Metric]) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(families))
    return generate_latest(registry).decode()


def merged(texts: Mapping[str, str]) -> list[Metric]:
    """The families of every process's text (process id -> its own figures), one family per name,
    each sample with the label ``process``. A process whose text does not parse is left out (and
    logged): one process's bad snapshot must not hide the others'."""
    families: dict[str, Metric] = {}
    for process, text in sorted(texts.items()):
        try:
            parsed = list(text_string_to_metric_families(text))
        except ValueError:
            logger.warning("the figures of process %s do not parse: left out", process)
            continue
        for family in parsed:
            into = families.get(family.name)
            if into is None:
                into = families[family.name] = Metric(family.name, family.documentation, family.type)
            elif into.type != family.type:
                logger.warning("process %s gives %s as a %s: left out", process, family.name, family.type)
                continue
            into.samples += [s._replace(labels={**s.labels, "process": process}) for s in family.samples]
    return list(families.values())


def queue_families(figures: Mapping[int, BrandQueue]) -> list[Metric]:
    """The queue's and operators' figures by brand (the desk's, not a process's: no process label)."""
    gauges = {
        "waiting": ("avatar_care_queue_waiting", "customers waiting in the queue, offered or not"),
        "offered": ("avatar_care_queue_offered", "waiting customers with an open offer to an operator"),
        "longest_wait_s": (
            "avatar_care_queue_longest_wait_seconds",
            "the longest wait of a waiting customer",
        ),
        "free_capacity": (
            "avatar_care_operators_free_capacity",
            "rooms the available operators could still open (capacity less running rooms)",
        ),
        "rooms": ("avatar_care_rooms_running", "consultation rooms running"),
        "seats_taken": ("avatar_care_room_seats_taken", "seats taken in the running rooms"),
        "seats_free": ("avatar_care_room_seats_free", "free seats in the running rooms"),
    }
    out: list[Metric] = []
    for attribute, (name, text) in gauges.items():
        gauge = GaugeMetricFamily(name, f"{text}, per brand", labels=["brand"])
        for brand_id, brand in sorted(figures.items()):
            gauge.add_metric([str(brand_id)], float(getattr(brand, attribute)))
        out.append(gauge)
    operators = GaugeMetricFamily(
        "avatar_care_operators",
        "operators routing knows, per brand and presence",
        labels=["brand", "presence"],
    )
    for brand_id, brand in sorted(figures.items()):
        for presence in ("available", "busy", "away", "offline"):
            operators.add_metric([str(brand_id), presence], float(brand.operators[presence]))
    out.append(operators)
    return out


def process_figures(live_rooms: LiveRooms, http: HttpFigures) -> str:
    """This process's own figures: its live rooms' and its HTTP requests'."""
    return metrics_text(live_rooms) + generate_latest(http.registry).decode()


def metrics_page(texts: Mapping[str, str], queue: Mapping[int, BrandQueue]) -> str:
    """The whole ``/metrics`` answer: every process's figures (process id -> its text) and the queue's."""
    return exposition([*merged(texts), *queue_families(queue)])
