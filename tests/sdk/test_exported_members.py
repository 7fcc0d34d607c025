"""vitrine_sdk.__all__ is exactly the public surface (as httpx's tests/test_exported_members.py)."""

import importlib.metadata
from types import ModuleType

import vitrine_sdk
from vitrine_sdk import webhooks


def test_every_name_in_all_exists() -> None:
    missing = [name for name in vitrine_sdk.__all__ if not hasattr(vitrine_sdk, name)]
    assert missing == []


def test_every_public_attribute_is_in_all() -> None:
    public = {
        name
        for name, value in vars(vitrine_sdk).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    }
    assert public == set(vitrine_sdk.__all__) - {"__version__", "webhooks"}


def test_public_submodules_are_listed_and_private_ones_are_not() -> None:
    submodules = {
        name for name, value in vars(vitrine_sdk).items() if isinstance(value, ModuleType)
    }
    assert {name for name in submodules if not name.startswith("_")} == {"webhooks"}
    assert "webhooks" in vitrine_sdk.__all__
    assert not any(name.startswith("_") for name in set(vitrine_sdk.__all__) - {"__version__"})


def test_all_is_sorted_without_duplicates() -> None:
    assert vitrine_sdk.__all__ == sorted(set(vitrine_sdk.__all__))


def test_public_classes_report_the_package_as_their_module() -> None:
    for name in vitrine_sdk.__all__:
        member = getattr(vitrine_sdk, name)
        if isinstance(member, type):
            assert member.__module__ == "vitrine_sdk", name


def test_webhooks_all_is_its_public_surface() -> None:
    public = {name for name in vars(webhooks) if not name.startswith("_")}
    imported = {"hashlib", "hmac", "json", "time", "Any", "WebhookVerificationError"}
    assert set(webhooks.__all__) == public - imported


def test_version_matches_the_installed_distribution() -> None:
    assert vitrine_sdk.__version__ == importlib.metadata.version("vitrine-sdk")
