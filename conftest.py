"""Loads the fixtures and markers every test suite shares (chapter/pytest_plugin.py), for the
tests under tests/ and in the stage directories alike."""
pytest_plugins = ["chapter.pytest_plugin"]
