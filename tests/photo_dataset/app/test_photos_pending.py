"""The review's pending edits are the tool's records: the tab and REST read and
replace the same ones, per dataset record, owner-checked."""

from __future__ import annotations

from jobs import datasets
from jobs.access import User
from jobs.tools import photo_dataset as photos
from studio.tabs.photo_dataset import review as tab


def test_pending_edits_are_shared_by_the_tab_and_rest(client):
    me = User("anonymous", is_admin=True)  # the open studio's user, as the client is
    datasets.reserve("v1", "photos", owner=me.name)
    datasets.reserve("v1", "photos", owner="bo")
    url = "/api/v1/datasets/v1/pending-edits"
    assert client.get(url).json() == {"flips": {}, "crops": {}}

    tab.write_pending("v1", me, {"flips": {"a.jpg": "dropped"}, "crops": {}})
    assert client.get(url).json() == {"flips": {"a.jpg": "dropped"}, "crops": {}}

    put = client.put(url, json={"flips": {"b.jpg": "kept"}, "crops": {"a.jpg": [0, 0, 64, 64]}})
    assert put.status_code == 200, put.text
    assert tab.read_pending("v1", me) == {
        "flips": {"b.jpg": "kept"},
        "crops": {"a.jpg": [0, 0, 64, 64]},
    }
    assert photos.read_pending_edits("v1", "bo") == {"flips": {}, "crops": {}}  # bo's own v1

    bad = client.put(url, json={"flips": {"b.jpg": "maybe"}})
    assert bad.status_code == 422
    assert client.get("/api/v1/datasets/nope/pending-edits").status_code == 404

    # a dataset made again under the name starts without the old one's edits
    datasets.delete("v1", me)
    datasets.reserve("v1", "photos", owner=me.name)
    assert client.get(url).json() == {"flips": {}, "crops": {}}
    client.put(url, json={})  # cleared: nothing kept
    assert tab.read_pending("v1", me) == {"flips": {}, "crops": {}}
