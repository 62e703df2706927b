"""A hub killed -9 during a storm and restarted finds its persistent session's backlog queued ahead of
its shared-subscription probe. Seen in bench-hq-ingest's storm: the probe came after 10 s of backlog,
the restarted hub declared the broker unable to deliver and exited (a crash loop under systemd while
the backlog lasted). A batch delivered through the shared subscription proves delivery as well."""
from __future__ import annotations

import time

from sync.protocol import topics

from .conftest import wait_for
from .test_poison import raw_client


def test_a_hub_restarted_behind_its_sessions_backlog_keeps_running(broker, start_hub, services):
    first = start_hub(broker.url)
    wait_for(lambda: first.probed.is_set(), what="the hub's shared subscription")
    services.pop().stop()                       # its persistent session (and shared subscription) stays
    kiosk = raw_client(broker, "k1")
    for n in range(150):                        # more than the hub's Receive Maximum (100)
        kiosk.publish(topics.SourceTopics("s1", "k1").tx, b"not a batch", qos=1).wait_for_publish(5)
    again = start_hub(broker.url, probe_timeout=1.0)
    with again.lock:                            # busy with the first batch: no PUBACK, the probe stays queued
        wait_for(lambda: again.probed.is_set(), what="delivery proven by the backlog itself")
        time.sleep(2.0)                         # past the probe's deadline
        assert services[-1].thread.is_alive()
    kiosk.loop_stop()
    kiosk.disconnect()
