"""Each face of chorus exports exactly its ``__all__``, and every other module is private."""

import importlib
import pkgutil
import types

import pytest

import chorus

FACES = ["chorus", "chorus.server", "chorus.streams", "chorus.testing"]
# Modules Django itself looks up by name: an app's ``apps`` module.
DJANGO_MODULES = {"chorus.apps"}
# Modules pytest loads by name: the plugin of the ``pytest11`` entry point (pyproject.toml).
PYTEST_PLUGINS = {"chorus.testing.pytest_plugin"}
# Folders that group private modules and export nothing themselves.
FOLDERS = {"chorus.engine", "chorus.engine.policies", "chorus.engine.transport", "chorus.views"}


def _public_names(module: types.ModuleType) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and name not in {"annotations", "TYPE_CHECKING"}
        and not isinstance(value, types.ModuleType)
    }


@pytest.mark.parametrize("face", FACES)
def test_all_is_sorted_and_matches_the_exports(face):
    module = importlib.import_module(face)
    exported = [name for name in module.__all__ if name != "__version__"]
    assert exported == sorted(exported)
    # Names loaded on first use (an optional dependency's) are in __all__ but not yet in vars.
    lazy = set(module.__all__) - set(vars(module))
    assert set(module.__all__) - {"__version__"} == _public_names(module) | lazy
    for name in module.__all__:
        assert getattr(module, name) is not None


def test_every_module_outside_the_faces_is_private():
    found = {info.name for info in pkgutil.walk_packages(chorus.__path__, "chorus.")}
    public = {name for name in found if not name.rsplit(".", 1)[-1].startswith("_")}
    assert public == set(FACES[1:]) | DJANGO_MODULES | PYTEST_PLUGINS | FOLDERS


@pytest.mark.parametrize("folder", sorted(FOLDERS))
def test_a_folder_exports_nothing(folder):
    assert _public_names(importlib.import_module(folder)) == set()


def test_version_comes_from_the_package_metadata():
    assert chorus.__version__ == importlib.metadata.version("django-chorus")


def test_every_error_is_a_chorus_error():
    errors = [getattr(chorus, n) for n in chorus.__all__ if n.endswith("Error")]
    assert errors
    assert all(issubclass(error, chorus.ChorusError) for error in errors)
