"""Minimal Django 3.2 settings for the client suite: one app (clients_app),
the database is the gateway named by SG_CLIENT_* (see ../common.py)."""

import os

SECRET_KEY = "shardgate-client-tests"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = ["clients_app"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": os.environ.get("SG_CLIENT_HOST", "127.0.0.1"),
        "PORT": os.environ.get("SG_CLIENT_PORT", "6432"),
        "NAME": os.environ.get("SG_CLIENT_DB", "postgres"),
        "USER": os.environ.get("SG_CLIENT_USER", "postgres"),
        "OPTIONS": {"connect_timeout": 10},
    }
}
