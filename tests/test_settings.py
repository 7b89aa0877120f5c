"""Settings from TOML and the environment, and their one-line errors."""

from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError, load_settings

TOKEN = "123456789:AAFakeTokenForTestsOnly0123456789ab"


def test_defaults_without_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings == Settings()


def test_file_values_are_read(tmp_path):
    path = tmp_path / "panel.toml"
    path.write_text('panel_name = "Buurtpanel"\nport = 9000\n', encoding="utf-8")
    settings = load_settings(path, environ={})
    assert settings.panel_name == "Buurtpanel"
    assert settings.port == 9000


def test_default_file_in_current_folder(tmp_path, monkeypatch):
    (tmp_path / "chatpanel.toml").write_text('panel_owner = "Stichting X"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert load_settings(environ={}).panel_owner == "Stichting X"


def test_environment_wins_over_file(tmp_path):
    path = tmp_path / "panel.toml"
    path.write_text("port = 9000\n", encoding="utf-8")
    settings = load_settings(path, environ={"CHATPANEL_PORT": "9100"})
    assert settings.port == 9100


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("PORT", "abc", "CHATPANEL_PORT: invalid value 'abc'; give a whole number from 1 to 65535"),
        ("PORT", "70000", "CHATPANEL_PORT"),
        ("PUBLIC_URL", "panel.example.nl", "CHATPANEL_PUBLIC_URL: invalid URL"),
        ("DATABASE_URL", "mysql://x", "CHATPANEL_DATABASE_URL: unsupported database URL 'mysql'"),
        ("TELEGRAM_TOKEN", "nope", "CHATPANEL_TELEGRAM_TOKEN: invalid bot token"),
        ("TELEGRAM_SECRET", "short", "CHATPANEL_TELEGRAM_SECRET: invalid secret"),
        ("TWILIO_ACCOUNT_SID", "AC123", "CHATPANEL_TWILIO_ACCOUNT_SID: invalid account SID"),
        ("TWILIO_SMS_FROM", "12", "CHATPANEL_TWILIO_SMS_FROM: invalid phone number '12'"),
        ("DEFAULT_LOCALE", "fr", "CHATPANEL_DEFAULT_LOCALE: unsupported locale 'fr'"),
    ],
)
def test_invalid_value_names_key_and_fix(tmp_path, monkeypatch, key, value, fragment):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError) as raised:
        load_settings(environ={f"CHATPANEL_{key}": value})
    assert fragment in str(raised.value)
    assert "\n" not in str(raised.value)


def test_unknown_key_in_file(tmp_path):
    path = tmp_path / "panel.toml"
    path.write_text('pannel_name = "x"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="unknown key 'pannel_name'; did you mean 'panel_name'"):
        load_settings(path, environ={})


def test_uppercase_key_in_file(tmp_path):
    path = tmp_path / "panel.toml"
    path.write_text('DATABASE_URL = "sqlite+aiosqlite:///x.db"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="write keys in lowercase: database_url"):
        load_settings(path, environ={})


def test_config_folder_rejected(tmp_path):
    with pytest.raises(SettingsError, match="is a folder"):
        load_settings(tmp_path, environ={})


def test_broken_toml_file(tmp_path):
    path = tmp_path / "panel.toml"
    path.write_text("port = \n", encoding="utf-8")
    with pytest.raises(SettingsError, match="is not valid TOML"):
        load_settings(path, environ={})


def test_missing_config_file(tmp_path):
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "absent.toml", environ={})


def test_serving_needs_a_channel():
    with pytest.raises(SettingsError, match="no channel is configured"):
        Settings().require_for_serving()


def test_serving_telegram_needs_secret():
    settings = Settings(telegram_token=TOKEN, panel_owner="X", privacy_url="https://example.org/privacy")
    with pytest.raises(SettingsError, match="CHATPANEL_TELEGRAM_SECRET: missing"):
        settings.require_for_serving()


def test_serving_sms_needs_public_url():
    settings = Settings(
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="token",
        twilio_sms_from="+3197010000000",
        panel_owner="X",
        privacy_url="https://example.org/privacy",
    )
    with pytest.raises(SettingsError, match="CHATPANEL_PUBLIC_URL: missing"):
        settings.require_for_serving()


def test_phone_number_normalised(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={"CHATPANEL_TWILIO_SMS_FROM": "+31 970 1000 0000"})
    assert settings.twilio_sms_from == "+3197010000000"


def test_whatsapp_only_can_serve():
    settings = Settings(
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="token",
        twilio_whatsapp_from="+3197010000000",
        whatsapp_template_nl="HX" + "0" * 32,
        public_url="https://panel.example.nl",
        panel_owner="X",
        privacy_url="https://example.org/privacy",
    )
    settings.require_for_serving()
    assert settings.whatsapp_enabled
    assert not settings.sms_enabled


def test_whatsapp_needs_default_locale_template():
    settings = Settings(
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="token",
        twilio_whatsapp_from="+3197010000000",
        whatsapp_template_en="HX" + "0" * 32,
        public_url="https://panel.example.nl",
        panel_owner="X",
        privacy_url="https://example.org/privacy",
    )
    with pytest.raises(SettingsError, match="CHATPANEL_WHATSAPP_TEMPLATE_NL: missing"):
        settings.require_for_serving()


@pytest.mark.parametrize("url", ["smtp://user:p@ss#w/rd@127.0.0.1:8025", "smtp://user:p@ss@127.0.0.1:8025", "smtp://127.0.0.1:25?x=1"])
def test_smtp_url_with_unencoded_characters_hides_password(url):
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={"CHATPANEL_SMTP_URL": url})
    message = str(caught.value)
    assert "percent-encode special characters" in message
    assert "ss" not in message.split("address", 1)[1].split(";")[0].replace("***", "")


def test_weight_cap_must_be_finite():
    with pytest.raises(SettingsError, match="give a number of 1 or more"):
        load_settings(environ={"CHATPANEL_WEIGHT_CAP": "inf"})
