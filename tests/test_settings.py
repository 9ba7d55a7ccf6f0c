from pathlib import Path

import pytest

from pipeline.settings import Settings, SettingsError


def test_embedded_defaults(tmp_path: Path):
    s = Settings.from_env({"BEDFLOW_DATA_DIR": str(tmp_path)}, dotenv=None)
    assert s.data_dir == tmp_path.resolve()
    assert s.database_url == f"sqlite:///{tmp_path.resolve()}/bedflow.db"
    assert s.store_kind == "local" and s.store_path == tmp_path.resolve() / "store"
    assert s.queue_kind == "sqlite" and s.queue_path == tmp_path.resolve() / "queue.db"
    assert s.minio_access_key is None and s.minio_secret_key is None


def test_default_data_dir_is_relative_to_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    assert Settings.from_env({}, dotenv=None).data_dir == tmp_path.resolve() / "data"


def test_services_from_environment():
    env = {
        "DATABASE_URL": "postgres://bed:secret@db:5432/bedflow",
        "BEDFLOW_STORE": "s3://runs",
        "MINIO_ENDPOINT": "minio:9000",
        "MINIO_ACCESS_KEY": "ak",
        "MINIO_SECRET_KEY": "sk",
        "MINIO_SECURE": "0",
        "BEDFLOW_QUEUE": "redis://cache:6379/0",
    }
    s = Settings.from_env(env, dotenv=None)
    assert s.database_url == "postgresql://bed:secret@db:5432/bedflow"
    assert s.store_kind == "s3" and s.store_bucket == "runs" and s.store_path is None
    assert s.minio_secure is False
    assert s.queue_kind == "redis" and s.queue_path is None
    shown = s.describe()
    assert "secret" not in str(shown) and "***" in shown["database"]
    assert "sk" not in repr(s) and "ak" not in repr(s).replace("data_dir", "")


def test_s3_store_requires_credentials_without_defaults():
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"BEDFLOW_STORE": "s3://runs"}, dotenv=None)
    for name in ("MINIO_ENDPOINT", "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY"):
        assert name in str(info.value)


@pytest.mark.parametrize(
    "env, fragment",
    [
        ({"BEDFLOW_STORE": "ftp://x"}, "BEDFLOW_STORE"),
        ({"BEDFLOW_QUEUE": "amqp://x"}, "BEDFLOW_QUEUE"),
        ({"DATABASE_URL": "bedflow.db"}, "DATABASE_URL"),
        ({"MINIO_SECURE": "maybe"}, "MINIO_SECURE"),
    ],
)
def test_bad_settings_are_reported(env, fragment):
    with pytest.raises(SettingsError, match=fragment):
        Settings.from_env(env, dotenv=None)


def test_dotenv_file_is_read_and_environment_wins(tmp_path: Path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("BEDFLOW_QUEUE=redis://from-file:6379/0\nDATABASE_URL=sqlite:///from-file.db\n")
    s = Settings.from_env({"DATABASE_URL": "sqlite:///from-env.db"}, dotenv=dotenv)
    assert s.queue_url == "redis://from-file:6379/0"
    assert s.database_url == "sqlite:///from-env.db"


def test_admins_are_a_lower_case_set(tmp_path: Path):
    settings = Settings.from_env({"BEDFLOW_DATA_DIR": str(tmp_path), "BEDFLOW_ADMINS": " Ana, rui,, "}, dotenv=None)
    assert settings.admins == {"ana", "rui"}
    assert Settings.from_env({"BEDFLOW_DATA_DIR": str(tmp_path)}, dotenv=None).admins == frozenset()
