"""The import page when a user's imports are paused after too many failures: 429, in French."""

from __future__ import annotations

from dataclasses import replace

import pytest

from liaison.config import Config
from tests.examples import fdl2
from tests.web import page
from tests.web.conftest import SignedIn
from tests.web.test_imports_and_partnerships import mailed_7z, upload

ALLOWED = 2


@pytest.fixture
def config(config: Config) -> Config:
    return replace(config, import_failures_allowed=ALLOWED)


class TestTheImportPage:
    def test_the_page_says_the_imports_are_paused_in_french_with_429(self, signed_in: SignedIn) -> None:
        browser = signed_in("demo.accompagnateur")
        for _ in range(ALLOWED):
            assert upload(browser, mailed_7z(fdl2()), passphrase="pas-la-bonne").status_code == 422
        response = upload(browser, mailed_7z(fdl2()))
        assert response.status_code == 429
        assert int(response.headers["Retry-After"]) >= 1
        assert "les imports sont suspendus" in page(response).text
