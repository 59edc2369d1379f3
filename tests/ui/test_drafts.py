"""The page's draft flow: validated like a flow file, previewed by the pipeline, saved as YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from calsink.flow import load_flow
from calsink.ui import actions
from calsink.ui.drafts import DraftError, flow_to_draft, flow_to_yaml, load_draft

LEADS = """\
internal_id,name,email,demo_at
crm-1,Ada Lovelace,ada@example.com,2030-01-07T14:00:00Z
crm-2,Grace Hopper,grace@example.com,2030-01-07T15:00:00Z
crm-3,Alan Turing,,2030-01-07T16:00:00Z
"""

MAP = """\
start: "{demo_at}"
eventTypeId: 1
internal_id: "{internal_id}"
attendee:
  name: "{name}"
  email: "{email}"
  timeZone: Europe/London
"""


def draft(**destination: object) -> dict[str, object]:
    return {
        "version": 1,
        "name": "book-demos",
        "source": {"path": "leads.csv"},
        "transform": {"where": None, "map": MAP},
        "destination": {
            "template": "create-booking",
            "base_url": "http://127.0.0.1:9",
            **destination,
        },
    }


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "leads.csv").write_text(LEADS, encoding="utf-8")
    return tmp_path


def test_the_saved_yaml_loads_back_as_the_same_flow(workdir: Path) -> None:
    loaded = load_draft(draft(exclude=["internal_id"]), base_dir=workdir)
    path = workdir / "book-demos.yaml"
    text = actions.save(loaded.flow, path)
    assert path.read_text(encoding="utf-8") == text
    assert text.startswith("version: 1\nname: book-demos\n")
    assert "concurrency" not in text  # defaults stay out of the file
    assert load_flow(path).flow == loaded.flow
    again = load_draft(flow_to_draft(loaded.flow), base_dir=workdir)
    assert again.flow == loaded.flow
    assert flow_to_yaml(again.flow) == text


def test_a_flow_file_name_must_end_in_yaml(workdir: Path) -> None:
    loaded = load_draft(draft(), base_dir=workdir)
    with pytest.raises(DraftError, match=r"\.yaml or \.yml"):
        actions.save(loaded.flow, workdir / "flow.txt")
    assert not (workdir / "flow.txt").exists()


def test_problems_name_the_setting(workdir: Path) -> None:
    broken = draft(manual={"method": "POST", "url": "http://127.0.0.1:9/v2/x"})
    broken["name"] = "has spaces"
    with pytest.raises(DraftError) as caught:
        load_draft(broken, base_dir=workdir)
    text = "\n".join(caught.value.problems)
    assert "name: String should match pattern" in text
    assert "destination: give exactly one of `template` and `manual`" in text


def test_a_map_that_is_not_yaml_is_named(workdir: Path) -> None:
    bad = draft()
    bad["transform"] = {"map": "start: [unclosed"}
    with pytest.raises(DraftError, match=r"transform\.map: not valid YAML"):
        load_draft(bad, base_dir=workdir)


def test_the_preview_shows_requests_rejections_and_warnings_in_order(workdir: Path) -> None:
    result = actions.preview(load_draft(draft(), base_dir=workdir), 5)
    kinds = [(s["kind"], s["position"]) for s in result["samples"]]
    assert kinds == [
        ("request", "leads.csv:2"),
        ("request", "leads.csv:3"),
        ("rejection", "leads.csv:4"),
    ]
    first = result["samples"][0]
    assert first["body"]["internal_id"] == "crm-1"
    assert any(w.startswith("internal_id:") for w in first["warnings"])
    assert ["Authorization", "Bearer <redacted>"] in first["headers"]
    assert "attendee.email" in result["samples"][2]["reason"]
    assert "internal_id" in result["attributes"]

    excluded = actions.preview(load_draft(draft(exclude=["internal_id"]), base_dir=workdir), 1)
    [only] = excluded["samples"]
    assert "internal_id" not in only["body"]
    assert only["warnings"] == []
    assert "internal_id" in excluded["attributes"]  # still offered, so it can be put back


def test_the_preview_stops_after_the_samples_asked_for(workdir: Path) -> None:
    result = actions.preview(load_draft(draft(), base_dir=workdir), 1)
    assert [s["position"] for s in result["samples"]] == ["leads.csv:2"]
