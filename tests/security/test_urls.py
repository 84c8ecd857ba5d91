"""check_url: brand and campaign image/link URLs. A scheme-relative URL (`//evil.example/x.png`) is another site
dressed as a path; production takes https only (http is fine in development and tests)."""

from __future__ import annotations

import pytest

from backend.validation import check_url


@pytest.mark.parametrize("bad", ["//evil.example/logo.png", "/\\evil.example/logo.png", "\\\\evil.example/x",
                                 "https:///no-host", "https://", "http:evil.example"])
def test_scheme_relative_and_hostless_urls_are_refused_everywhere(bad: str) -> None:
    with pytest.raises(ValueError):
        check_url(bad)


def test_production_takes_only_https_urls(production) -> None:
    production()
    with pytest.raises(ValueError, match="https"):
        check_url("http://cdn.example.com/a.png")
    with pytest.raises(ValueError):
        check_url("//cdn.example.com/a.png")
    assert check_url("https://cdn.example.com/a.png") == "https://cdn.example.com/a.png"
    assert check_url("/demo/a.svg") == "/demo/a.svg"


def test_development_and_tests_still_take_http(configure) -> None:
    for env in ("development", "test"):
        configure(PRIMSELL_ENV=env)
        assert check_url("http://localhost:3000/a.png") == "http://localhost:3000/a.png"
        assert check_url("/demo/a.svg") == "/demo/a.svg"
