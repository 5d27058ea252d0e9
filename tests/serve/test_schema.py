"""Property tests of the HTTP API from its own OpenAPI schema (schemathesis): for a bounded number of
generated requests per operation, no answer is a 500 (our own bug) and none takes long."""

from __future__ import annotations

import json
import time
from dataclasses import fields

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbolic.serve.app import create_app
from symbolic.serve.config import ServeConfig

schemathesis = pytest.importorskip("schemathesis", reason="pip install schemathesis (the serve extra)")
from schemathesis.checks import not_a_server_error  # noqa: E402

EXAMPLES_PER_OPERATION = 12  # 7 operations: under 100 requests in all
SLOWEST_ANSWER_SECONDS = 20.0  # generous for a loaded machine; a hang is far longer


@pytest.fixture(scope="module")
def app(tmp_path_factory, tiny_model):
    return create_app(ServeConfig(data_dir=tmp_path_factory.mktemp("schema"), model=tiny_model,
                                  max_upload_bytes=20_000, max_queued_per_client=2))


def test_no_request_makes_a_server_error_or_hangs(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 8  # health, styles, inspect, style, submit, job, job file, delete
    with TestClient(app):  # the app's start-up and shut-down run once around all the requests
        for operation in operations:
            @given(operation.as_strategy())
            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def answers_well(case):
                start = time.monotonic()
                response = case.call_and_validate(checks=[not_a_server_error])
                assert time.monotonic() - start < SLOWEST_ANSWER_SECONDS, (case.method, case.path)
                if response.status_code >= 400:
                    assert "error" in response.json() or "detail" in response.json(), response.text

            answers_well()


class Recorder:
    """A queue that only records what it is given: here the requests are under test, not the jobs."""

    def __init__(self) -> None:
        self.job_ids: list[str] = []

    def submit(self, job_id: str) -> None:
        self.job_ids.append(job_id)

    def shutdown(self) -> None:
        pass


VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(), st.text(max_size=20),
                   st.lists(st.integers(), max_size=2))
STYLES = st.one_of(st.sampled_from(["chorale", "irish:0.7,chorale:0.3", "a lively irish jig", "", " ", ":",
                                    "chorale:nan", "chorale:-1,irish:2", "chorale:0", "irish:inf", "chorale,"]),
                   st.text(max_size=20))


def test_settings_near_the_valid_ones_get_an_answer_not_a_server_error(tmp_path, tiny_model, tune_bytes):
    """The schema's fuzzing rarely gets past the JSON and the MIDI file; this sends a real tune with
    settings made from the real keys and hostile values."""
    from symbolic.serve.config import JobSettings

    keys = [f.name for f in fields(JobSettings)]
    settings_strategy = st.fixed_dictionaries(
        {"job": st.sampled_from(["accompany", "convert", "continue", "sing"]), "style": STYLES},
        optional={key: VALUES for key in keys if key not in ("job", "style")})
    recorder = Recorder()
    app = create_app(ServeConfig(data_dir=tmp_path, model=tiny_model, max_queued_per_client=10_000), queue=recorder)
    with TestClient(app) as client:
        @given(settings_strategy)
        @settings(max_examples=80, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def answers_well(job_settings):
            response = client.post("/api/jobs", files={"midi": ("t.mid", tune_bytes, "audio/midi")},
                                   data={"settings": json.dumps(job_settings)})
            assert response.status_code in (202, 422), (job_settings, response.status_code, response.text)
            if response.status_code == 202:
                JobSettings.from_dict(response.json()["settings"])  # what was accepted is what a worker reads
            else:
                assert response.json()["error"], response.text

        answers_well()
    assert recorder.job_ids  # some settings were valid
